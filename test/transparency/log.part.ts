// The transparency log of the running service (SPEC §7), through its public routes: every audit
// event is exactly one leaf; every inclusion and consistency proof up to 64 leaves equals the one
// RFC 9162's definitions give (test/transparency/reference.ts, no code shared with the service)
// and leads to the signed root; the checkpoint verifies from the published vkey alone, with
// node:crypto and the C2SP formats read here, not with the service's note code.
import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import { sql } from '../../src/db/kysely.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { sandboxCast } from '../sandbox/helpers.js';
import { MTH, PATH, PROOF, refLeaf, rootFromPath } from './reference.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const b64 = (s: string) => Buffer.from(s, 'base64');

  /** Every audit event in log order, as the database holds them. */
  async function eventsInLogOrder(ta: TestApp) {
    const { rows } = await sql<{ id: string; hash: string; log_index: string | null; chain_id: string; seq: number }>`
    select a.id, a.hash, l.log_index, a.chain_id, a.seq from audit_events a left join log_leaves l on l.audit_id = a.id
    order by l.log_index nulls last, a.id`.execute(ta.app.db);
    return rows;
  }

  /** A C2SP vkey read by hand: name+<key id, 8 hex>+base64(0x01 ‖ 32-byte Ed25519 key). */
  function readVkey(vkey: string) {
    const [, name, id, key] = /^([^+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey) ?? [];
    const raw = b64(key!);
    if (raw.length !== 33 || raw[0] !== 0x01) throw new Error('not an Ed25519 vkey');
    const pub = raw.subarray(1);
    const expectedId = createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([0x01]), pub])).digest().subarray(0, 4).toString('hex');
    return { name: name!, id: id!, idMatches: id === expectedId, key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pub.toString('base64url') }, format: 'jwk' }) };
  }

  t.test('every audit event is one leaf, and every proof up to 64 leaves is RFC 9162’s', async (t) => {
    const ta = await buildTestApp(t);
    const s = await sandboxCast(ta);
    const cases: Array<{ id: string }> = [];
    for (let i = 0; i < 12; i++) cases.push(await s.caseIn('testing'));
    const before = (await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${cases[0].id}/events`, token: s.regulator.token })).json();
    t.notOk(before.items.some((e: any) => 'log_index' in e), 'no log_index before the sequencer ran');
    t.equal((await ta.req({ method: 'GET', url: '/v1/transparency/checkpoint' })).statusCode, 404, 'no checkpoint before the sequencer ran');

    const integrated = await ta.app.transparency.sequencer.runOnce();
    const events = await eventsInLogOrder(ta);
    t.equal(integrated, events.length, 'the sequencer integrated every event');
    t.ok(events.length >= 64, `${events.length} audit events`);
    t.same(
      events.map((e) => Number(e.log_index)),
      events.map((_, i) => i),
      'log indexes 0..n-1, each event once, no gap',
    );
    t.equal(await ta.app.transparency.sequencer.runOnce(), 0, 'a second round finds nothing to do');

    // History items show their log_index.
    const history = (await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${cases[3].id}/events`, token: s.regulator.token })).json().items;
    const indexOf = new Map(events.map((e) => [`${e.chain_id}/${e.seq}`, Number(e.log_index)]));
    t.same(
      history.map((e: any) => e.log_index),
      history.map((e: any) => indexOf.get(`${cases[3].id}/${e.seq}`)),
      'each history item carries its leaf',
    );

    const D = events.map((e) => Buffer.from(e.hash, 'hex'));
    const leaves = (await ta.req({ method: 'GET', url: `/v1/transparency/leaves?start=0&end=${D.length}` })).json();
    t.same(leaves.leaf_hashes.map(b64), D.map(refLeaf), 'the leaves are SHA-256(0x00 ‖ event hash), in log order');

    let inclusionBad = 0;
    let consistencyBad = 0;
    for (let n = 1; n <= 64; n++) {
      const root = MTH(D.slice(0, n));
      for (let m = 0; m < n; m++) {
        const r = (await ta.req({ method: 'GET', url: `/v1/transparency/proofs/inclusion?leaf_index=${m}&tree_size=${n}` })).json();
        const proof = r.proof.map(b64);
        const ref = PATH(m, D.slice(0, n));
        if (!b64(r.leaf_hash).equals(refLeaf(D[m]!)) || proof.length !== ref.length || !proof.every((p: Buffer, i: number) => p.equals(ref[i]!))) inclusionBad++;
        else if (!rootFromPath(m, n, refLeaf(D[m]!), proof)?.equals(root)) inclusionBad++;
      }
      for (let m = 0; m <= n; m++) {
        const r = (await ta.req({ method: 'GET', url: `/v1/transparency/proofs/consistency?from=${m}&to=${n}` })).json();
        const ref = PROOF(m, D.slice(0, n));
        if (r.proof.length !== ref.length || !r.proof.every((p: string, i: number) => b64(p).equals(ref[i]!))) consistencyBad++;
      }
    }
    t.equal(inclusionBad, 0, 'all 2,080 inclusion proofs up to 64 leaves equal PATH(m, D[n]) and lead to MTH(D[n])');
    t.equal(consistencyBad, 0, 'all 2,144 consistency proofs up to 64 leaves equal PROOF(m, D[n])');

    // The checkpoint, verified from the vkey alone.
    const vkeys = (await ta.req({ method: 'GET', url: '/v1/transparency/key' })).body.trim().split('\n');
    t.equal(vkeys.length, 1, 'one key');
    const vkey = readVkey(vkeys[0]!);
    t.ok(vkey.idMatches, 'the key id is SHA-256(name ‖ "\\n" ‖ 0x01 ‖ key)[:4]');
    const cpRes = await ta.req({ method: 'GET', url: '/v1/transparency/checkpoint' });
    t.match(cpRes.headers['content-type'], /^text\/plain/);
    const note = cpRes.body;
    const [text, sigs] = [note.slice(0, note.lastIndexOf('\n\n') + 1), note.slice(note.lastIndexOf('\n\n') + 2)];
    const [origin, size, root, ...rest] = text.split('\n');
    t.equal(origin, ta.config.logOrigin, 'origin line');
    t.equal(origin, '127.0.0.1:3000/audit-log', 'by default <host of PUBLIC_URL>/audit-log');
    t.equal(Number(size), D.length, 'tree size');
    t.same(b64(root!), MTH(D), 'root hash: MTH of every event');
    t.same(rest, [''], 'no extension lines');
    const sigLine = /^— (\S+) (\S+)\n$/.exec(sigs);
    t.ok(sigLine, 'one signature line');
    t.equal(sigLine![1], vkey.name, 'signed by the key named in the vkey');
    const blob = b64(sigLine![2]!);
    t.equal(blob.subarray(0, 4).toString('hex'), vkey.id, 'with its key id');
    t.ok(edVerify(null, Buffer.from(text, 'utf8'), vkey.key, blob.subarray(4)), 'the Ed25519 signature verifies');

    const verify = (await ta.req({ method: 'GET', url: '/v1/audit/verify', token: s.regulator.token })).json();
    t.same([verify.ok, verify.failures], [true, []], 'the audit verification, log included, passes');
  });

  t.test('proof and leaf queries outside the log are 400s naming the parameter', async (t) => {
    const ta = await buildTestApp(t);
    await ta.app.transparency.sequencer.runOnce();
    const size = Number((await ta.req({ method: 'GET', url: '/v1/transparency/checkpoint' })).body.split('\n')[1]);
    const field = async (url: string) => {
      const r = await ta.req({ method: 'GET', url });
      t.equal(r.statusCode, 400, url);
      t.match(r.headers['content-type'], /problem\+json/);
      return r.json().errors?.[0]?.path;
    };
    t.equal(await field(`/v1/transparency/proofs/inclusion?leaf_index=0&tree_size=${size + 1}`), 'query/tree_size');
    t.equal(await field(`/v1/transparency/proofs/inclusion?leaf_index=${size}&tree_size=${size}`), 'query/leaf_index');
    t.match(await field('/v1/transparency/proofs/inclusion?leaf_index=-1&tree_size=1'), /leaf_index/);
    t.match(await field('/v1/transparency/proofs/inclusion?tree_size=1'), /leaf_index/);
    t.equal(await field(`/v1/transparency/proofs/consistency?from=0&to=${size + 1}`), 'query/to');
    t.equal(await field('/v1/transparency/proofs/consistency?from=2&to=1'), 'query/from');
    t.equal(await field(`/v1/transparency/leaves?start=0&end=${size + 1}`), 'query/end');
    t.equal(await field('/v1/transparency/leaves?start=0&end=1001'), 'query/end');
    t.equal(await field('/v1/transparency/leaves?start=1&end=0'), 'query/start');
    t.match(await field('/v1/transparency/leaves?start=x&end=1'), /start/);
    t.equal((await ta.req({ method: 'GET', url: `/v1/transparency/proofs/consistency?from=${size}&to=${size}` })).json().proof.length, 0, 'equal sizes: an empty proof');
  });
});
