// Rewrites of history that only the transparency log can show (SPEC §4, §7; issue 22): each done
// through SQL by someone who owns the database (session_replication_role = replica switches off
// every trigger, the append-only ones and the log's queue included), each then named by
// GET /v1/audit/verify. Every subtest has a database of its own.
import type { Test } from 'tap';
import { sql } from '../../src/db/kysely.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { sandboxCast } from '../sandbox/helpers.js';
import { certificationCast } from '../certification/cast.js';
import { bodyOfRow, chainHash } from '../../src/audit/audit.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  type Report = { ok: boolean; failures: Array<{ reason: string; case_id?: string | null }> };

  /** Runs `work` as the database's owner with every trigger off, as an attacker would. */
  const asOwner = (ta: TestApp, work: (trx: any) => Promise<unknown>) =>
    ta.app.db.transaction().execute(async (trx) => {
      await sql`set local session_replication_role = replica`.execute(trx);
      await work(trx);
    });

  /** A registry with a few sandbox cases, all in the log under a signed checkpoint. */
  async function logged(t: Test) {
    const ta = await buildTestApp(t);
    const s = await sandboxCast(ta);
    const cases = [await s.caseIn('testing'), await s.caseIn('submitted'), await s.caseIn('admitted')];
    await ta.app.transparency.sequencer.runOnce();
    const verify = async (): Promise<Report> => (await ta.req({ method: 'GET', url: '/v1/audit/verify', token: s.regulator.token })).json();
    const before = await verify();
    t.same([before.ok, before.failures], [true, []], 'sound before the tampering');
    return { ta, s, cases, verify };
  }

  /** The log rebuilt from the audit trail as it is now: what an attacker would do after rewriting it. */
  async function rebuildLog(ta: TestApp) {
    await asOwner(ta, async (trx) => {
      await sql`delete from log_leaves`.execute(trx);
      await sql`delete from log_nodes`.execute(trx);
      await sql`delete from log_queue`.execute(trx);
      await sql`update log_head set size = 0, root = sha256(''::bytea)`.execute(trx);
      await sql`insert into log_queue (audit_id) select id from audit_events`.execute(trx);
    });
    await ta.app.transparency.sequencer.runOnce();
  }

  const reasons = (r: Report) => r.failures.map((f) => f.reason).join('\n');

  t.test('TRUNCATE of the audit table', async (t) => {
    const { ta, verify } = await logged(t);
    await sql`truncate audit_events`.execute(ta.app.db);
    const r = await verify();
    t.equal(r.ok, false);
    t.match(reasons(r), /leaf 0 is an audit event \(id \d+\) that is no longer in the audit trail/);
  });

  t.test('a case deleted with its whole history', async (t) => {
    const { ta, cases, verify } = await logged(t);
    const gone = cases[1].id;
    await asOwner(ta, async (trx) => {
      await sql`delete from audit_events where chain_id = ${gone}`.execute(trx);
      await sql`delete from deadlines where case_id = ${gone}`.execute(trx);
      await sql`delete from cases where id = ${gone}`.execute(trx);
    });
    const r = await verify();
    t.equal(r.ok, false);
    t.match(reasons(r), /no longer in the audit trail/, 'its leaves name the events that vanished');

    t.test('and the log rebuilt without it: shorter than its signed checkpoint', async (t) => {
      await rebuildLog(ta);
      const r = await verify();
      t.equal(r.ok, false);
      t.match(reasons(r), /covers \d+ leaves, the log now has \d+: the log lost its tail/);
    });
  });

  t.test('a chain rewritten with valid recomputed hashes', async (t) => {
    const { ta, cases, verify } = await logged(t);
    const victim = cases[1].id; // submitted: CASE_CREATED, SUBMIT
    // The SUBMIT is said to have been at another time; every later hash recomputed, the case row re-pointed.
    await asOwner(ta, async (trx) => {
      const rows = (await sql<any>`select * from audit_events where chain_id = ${victim} order by seq`.execute(trx)).rows;
      let prev = rows[0].hash as string;
      for (const row of rows.slice(1)) {
        const at = new Date(new Date(row.at).getTime() - 3_600_000);
        const hash = chainHash(prev, bodyOfRow({ ...row, at }));
        await sql`update audit_events set at = ${at}, prev_hash = ${prev}, hash = ${hash} where id = ${row.id}`.execute(trx);
        prev = hash;
      }
      await sql`update cases set audit_hash = ${prev} where id = ${victim}`.execute(trx);
    });
    const r = await verify();
    t.equal(r.ok, false, 'the chain and its replay are sound, the log is not');
    t.notOk(r.failures.some((f) => f.case_id === victim), 'the chain itself verifies');
    t.match(reasons(r), new RegExp(`leaf \\d+ no longer matches its audit event \\(${victim} seq 2\\): the event was rewritten`));

    t.test('and the log rebuilt over the new chain: its root is not the signed one', async (t) => {
      await rebuildLog(ta);
      const r = await verify();
      t.equal(r.ok, false);
      t.match(reasons(r), /the first \d+ leaves, rebuilt from the audit trail, no longer give the root signed at .*: history was rewritten/);
      t.notMatch(reasons(r), /no longer matches its audit event/, 'every leaf is its event again');
    });
  });

  t.test('a stored checkpoint changed', async (t) => {
    const { ta, verify } = await logged(t);
    await asOwner(ta, (trx) => sql`update log_checkpoints set root = sha256('forged'::bytea)`.execute(trx));
    const r = await verify();
    t.equal(r.ok, false);
    t.match(reasons(r), /checkpoint of size \d+ signed at .* does not verify: its row says another size or root than its signed note/);
  });

  t.test('a checkpoint signed by a key that is not the log’s', async (t) => {
    const { ta, verify } = await logged(t);
    const { generateKeyPairSync } = await import('node:crypto');
    const { signerFromKey, signNote } = await import('../../src/transparency/note.js');
    const forger = signerFromKey(ta.config.logOrigin, generateKeyPairSync('ed25519').privateKey);
    await asOwner(ta, async (trx) => {
      const { rows } = await sql<{ note: string }>`select note from log_checkpoints`.execute(trx);
      const text = rows[0]!.note.slice(0, rows[0]!.note.lastIndexOf('\n\n') + 1);
      await sql`update log_checkpoints set note = ${signNote(text, [forger])}`.execute(trx);
    });
    const r = await verify();
    t.equal(r.ok, false);
    t.match(reasons(r), /does not verify: no signature by a known key/);
  });

  t.test('the last REVOKE deleted and the case row rolled back: the certificate valid again', async (t) => {
    const ta = await buildTestApp(t);
    const c = await certificationCast(ta);
    const lab = await c.lab();
    const robot = await c.robot();
    const cert = await c.certify({ product: robot, scheme: 'robot-safety', lab });
    // The rows as they were before the revocation, kept by the attacker.
    const snapshot = (await sql<{ c: unknown; cert: unknown; d: unknown }>`
    select (select to_jsonb(x) from cases x where id = ${cert.id}) as c,
           (select to_jsonb(x) from certificates x where case_id = ${cert.id}) as cert,
           (select coalesce(jsonb_agg(to_jsonb(x)), '[]') from deadlines x where case_id = ${cert.id}) as d`.execute(ta.app.db)).rows[0]!;
    c.ok(await c.fire(c.regulator.token, cert.id, 'REVOKE', { reason: 'Safety controller replaced by an uncertified part' }));
    await ta.app.transparency.sequencer.runOnce();
    const verify = async (): Promise<Report> => (await ta.req({ method: 'GET', url: '/v1/audit/verify', token: c.regulator.token })).json();
    t.same((await verify()).failures, [], 'sound before the tampering');

    await asOwner(ta, async (trx) => {
      await sql`delete from audit_events where chain_id = ${cert.id} and type = 'REVOKE'`.execute(trx);
      await sql`
      update cases x set (state, version, record, audit_seq, audit_hash, deadlines, updated_at, lab_id) =
        (select state, version, record, audit_seq, audit_hash, deadlines, updated_at, lab_id from jsonb_populate_record(null::cases, ${JSON.stringify(snapshot.c)}::jsonb))
      where id = ${cert.id}`.execute(trx);
      await sql`
      update certificates x set (state, status) = (select state, status from jsonb_populate_record(null::certificates, ${JSON.stringify(snapshot.cert)}::jsonb))
      where case_id = ${cert.id}`.execute(trx);
      await sql`delete from deadlines where case_id = ${cert.id}`.execute(trx);
      await sql`insert into deadlines select * from jsonb_populate_recordset(null::deadlines, ${JSON.stringify(snapshot.d)}::jsonb)`.execute(trx);
    });
    const number = (snapshot.cert as { number: string }).number;
    t.equal((await ta.req({ method: 'GET', url: `/v1/register/certificates/${encodeURIComponent(number)}` })).json().status, 'valid', 'the public register says valid again');
    const r = await verify();
    t.equal(r.ok, false, 'verify names it');
    t.notOk(r.failures.some((f) => f.case_id === cert.id), 'the shortened chain and its replay agree with the rolled-back row');
    t.match(reasons(r), /leaf \d+ is an audit event \(id \d+\) that is no longer in the audit trail/);
  });

  t.test('an audit event added behind the log’s queue', async (t) => {
    const { ta, verify } = await logged(t);
    await asOwner(ta, async (trx) => {
      await sql`delete from log_queue`.execute(trx);
      await sql`
      insert into audit_events (chain_id, seq, case_id, kind, type, actor_principal_id, actor_role, from_state, to_state, payload, facts, at, prev_hash, hash)
      select chain_id, seq + 1000, case_id, kind, type, actor_principal_id, actor_role, from_state, to_state, payload, facts, at, prev_hash, hash
      from audit_events where chain_id = 'registry' and seq = 1`.execute(trx);
    });
    const r = await verify();
    t.equal(r.ok, false);
    t.match(reasons(r), /the audit event registry seq 1001 \(id \d+\) is neither in the log nor queued for it/);
  });
});
