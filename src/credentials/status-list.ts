// W3C Bitstring Status List v1.0 (SPEC §8). Every certificate has one index (certificates.status_index,
// fixed at issuance) in two families of lists: `revocation` and `suspension`. List n holds indexes
// [n·LIST_SIZE, (n+1)·LIST_SIZE). A list's bits are read from the certificates rows, whose status the
// engine writes in the same statement as the event that changes it: the bit changes in that
// transaction, and updating one bit rewrites nothing but that row.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { sql } from '../db/kysely.js';
import type { DbOrTrx } from '../db/types.js';
import { signCredential } from './sign.js';
import type { IssuerKey } from './keys.js';

/** Entries per list: the specification's minimum (16 KiB uncompressed), for group privacy. */
export const LIST_SIZE = 131_072;
export const STATUS_PURPOSES = ['revocation', 'suspension'] as const;
export type StatusPurpose = (typeof STATUS_PURPOSES)[number];
/** The certificate status whose bit is set in each list. */
export const STATUS_OF_PURPOSE: Record<StatusPurpose, 'revoked' | 'suspended'> = { revocation: 'revoked', suspension: 'suspended' };

export const statusListUrl = (publicUrl: string, purpose: StatusPurpose, n: number) => `${publicUrl}/v1/status-lists/${purpose}/${n}`;

/** Where an index lives: its list and its place in it. */
export const placeOf = (statusIndex: number) => ({ list: Math.floor(statusIndex / LIST_SIZE), index: statusIndex % LIST_SIZE });

/** The list's set bits (indexes within the list), ascending. */
export async function setBits(db: DbOrTrx, purpose: StatusPurpose, n: number): Promise<number[]> {
  const from = n * LIST_SIZE;
  // One row, an array of int4 offsets: a list with a thousand bits set is one value to send and parse, not a thousand rows.
  const r = await sql<{ bits: number[] }>`
    select coalesce(array_agg((status_index - ${from})::int4 order by status_index), '{}') as bits from certificates
     where status = ${STATUS_OF_PURPOSE[purpose]} and status_index >= ${from} and status_index < ${from + LIST_SIZE}`.execute(db);
  return r.rows[0]!.bits.map(Number);
}

/** The highest list number holding an issued index (0 when none is). */
export async function lastList(db: DbOrTrx): Promise<number> {
  const r = await sql<{ m: string | null }>`select max(status_index)::text as m from certificates`.execute(db);
  return r.rows[0]?.m == null ? 0 : placeOf(Number(r.rows[0].m)).list;
}

/** The GZIP of the bitstring (index 0 the most significant bit of byte 0), multibase base64url ("u…"). */
export function encodeList(bits: number[]): string {
  const bytes = Buffer.alloc(LIST_SIZE / 8);
  for (const i of bits) bytes[i >> 3]! |= 0x80 >> (i & 7);
  return `u${gzipSync(bytes).toString('base64url')}`;
}

export type SignedList = { jwt: string; etag: string };

/**
 * Signed lists kept per instance while their bits and signing key stay the same: a request reads
 * the list's set bits (an index range scan of the suspended or revoked rows), and signs only when
 * they changed. The ETag names the content (bits and key), so every instance gives the same one.
 */
export class StatusListCache {
  private readonly lists = new Map<string, SignedList & { bitsHash: string }>();
  constructor(private readonly opts: { issuerUrl: string; publicUrl: string; ttlMs: number; key: () => IssuerKey; now: () => Date }) {}

  async get(db: DbOrTrx, purpose: StatusPurpose, n: number): Promise<SignedList> {
    const bits = await setBits(db, purpose, n);
    const key = this.opts.key();
    const bitsHash = createHash('sha256').update(`${key.kid}\n${bits.join(',')}`).digest('base64url');
    const name = `${purpose}/${n}`;
    const cached = this.lists.get(name);
    if (cached?.bitsHash === bitsHash) return cached;
    const url = statusListUrl(this.opts.publicUrl, purpose, n);
    const encodedList = encodeList(bits);
    const credential = {
      '@context': ['https://www.w3.org/ns/credentials/v2'],
      id: url,
      type: ['VerifiableCredential', 'BitstringStatusListCredential'],
      issuer: this.opts.issuerUrl,
      validFrom: this.opts.now().toISOString(),
      credentialSubject: { id: `${url}#list`, type: 'BitstringStatusList', statusPurpose: purpose, encodedList, ttl: this.opts.ttlMs },
    };
    const jwt = await signCredential(credential, key);
    const signed = { jwt, etag: `"${bitsHash.slice(0, 32)}"`, bitsHash };
    this.lists.set(name, signed);
    return signed;
  }
}
