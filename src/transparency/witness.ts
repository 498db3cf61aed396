// A witness of the transparency log (SPEC §7): it fetches the latest checkpoint from the public
// routes, checks its signature with the keys it trusts and its consistency with the checkpoint it
// saw last, and keeps it. A log that shrank, forked or was rebuilt with another history fails,
// whoever signed it: the database's owner cannot rewrite what a witness has already seen.
import fs from 'node:fs';
import { writeFileAtomically } from './keys.js';
import { parseCheckpoint } from './checkpoint.js';
import { verifyConsistency } from './merkle.js';
import { openNote, parseVerifierKey } from './note.js';

export type WitnessState = {
  /** The log's origin, as its first checkpoint said. */
  origin: string;
  /** The verifier keys the witness trusts (given, or learnt from the log on first use). */
  vkeys: string[];
  size: number;
  /** The root hash, base64. */
  root: string;
  /** The checkpoint as fetched (a signed note). */
  checkpoint: string;
  checked_at: string;
};

export type WitnessResult = { ok: boolean; message: string; state?: WitnessState };

type Fetch = (url: string) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

export async function runWitness(opts: { url: string; stateFile: string; vkeys?: string[]; fetch?: Fetch; now?: () => Date }): Promise<WitnessResult> {
  const get = opts.fetch ?? ((u: string) => fetch(u));
  const base = opts.url.replace(/\/+$/, '');
  const fetchText = async (route: string): Promise<string> => {
    const res = await get(`${base}${route}`);
    const body = await res.text();
    if (!res.ok) throw new Error(`GET ${base}${route} answered ${res.status}: ${body.slice(0, 300)}`);
    return body;
  };

  let previous: WitnessState | null = null;
  if (fs.existsSync(opts.stateFile)) {
    try {
      previous = JSON.parse(fs.readFileSync(opts.stateFile, 'utf8')) as WitnessState;
    } catch (err) {
      return { ok: false, message: `cannot read the witness state ${opts.stateFile}: ${(err as Error).message}` };
    }
  }

  let vkeys = [...new Set([...(previous?.vkeys ?? []), ...(opts.vkeys ?? [])])];
  let learnt = '';
  if (vkeys.length === 0) {
    // First use with no key given: the log's published keys are trusted from now on.
    vkeys = (await fetchText('/v1/transparency/key')).split('\n').filter((l) => l !== '');
    learnt = ` (trusting the log’s keys from now on: ${vkeys.join(', ')})`;
  }
  const verifiers = vkeys.map((k) => parseVerifierKey(k));

  const note = await fetchText('/v1/transparency/checkpoint');
  let cp;
  try {
    cp = parseCheckpoint(openNote(note, verifiers).text);
  } catch (err) {
    return { ok: false, message: `the log’s checkpoint does not verify with the keys this witness trusts: ${(err as Error).message} (if the log rotated its key, give the new one with --vkey)` };
  }
  if (previous && cp.origin !== previous.origin) return { ok: false, message: `the checkpoint is for the log ${cp.origin}, this witness follows ${previous.origin}` };

  if (previous) {
    const oldRoot = Buffer.from(previous.root, 'base64');
    if (cp.size < previous.size) {
      return { ok: false, message: `the log shrank: it showed ${previous.size} leaves (checked ${previous.checked_at}), its checkpoint now says ${cp.size}` };
    }
    if (cp.size === previous.size && !cp.root.equals(oldRoot)) {
      return { ok: false, message: `the log forked: two different roots signed for the same ${cp.size} leaves (${previous.root} seen ${previous.checked_at}, now ${cp.root.toString('base64')})` };
    }
    if (cp.size > previous.size) {
      const body = JSON.parse(await fetchText(`/v1/transparency/proofs/consistency?from=${previous.size}&to=${cp.size}`)) as { proof: string[] };
      const proof = body.proof.map((p) => Buffer.from(p, 'base64'));
      if (!verifyConsistency(previous.size, cp.size, proof, oldRoot, cp.root)) {
        return {
          ok: false,
          message: `the log's history was rewritten: its checkpoint of ${cp.size} leaves is not consistent with the ${previous.size} leaves seen ${previous.checked_at} (no valid consistency proof)`,
        };
      }
    }
  }

  const state: WitnessState = { origin: cp.origin, vkeys, size: cp.size, root: cp.root.toString('base64'), checkpoint: note, checked_at: (opts.now ?? (() => new Date()))().toISOString() };
  writeFileAtomically(opts.stateFile, `${JSON.stringify(state, null, 2)}\n`);
  const message = previous
    ? cp.size === previous.size
      ? `the log is unchanged at ${cp.size} leaves`
      : `the log grew from ${previous.size} to ${cp.size} leaves, consistently`
    : `first checkpoint kept: ${cp.size} leaves, root ${state.root}${learnt}`;
  return { ok: true, message, state };
}
