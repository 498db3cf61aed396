import { sql } from '../../src/db/kysely.js';
import { sweepOnce } from '../../src/scheduler/scheduler.js';
import { buildTestApp } from '../helpers/app.js';
import { certificationCast, DAY } from './cast.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // The certificate status a state means is declared once, in the workflow (state meta
  // certificateStatus), and the engine writes the register's row in the event's own statement: no
  // trigger on cases keeps a second copy of that mapping. The statuses below are SPEC §4b's, written out.

  t.test('the register row follows each event, written by the engine; cases have no trigger', async (t) => {
    const ta = await buildTestApp(t);
    const c = await certificationCast(ta);
    const db = ta.database.db;

    const triggers = await sql<{ tgname: string }>`select tgname from pg_trigger where tgrelid = 'cases'::regclass and not tgisinternal`.execute(db);
    t.same(triggers.rows, [], 'no trigger writes the register from cases');

    const lab = await c.lab();
    const cert = await c.certify({ product: await c.robot(), scheme: 'robot-safety', lab });
    const row = async () =>
      (await sql<{ state: string; status: string; lab_id: string | null }>`select state, status, lab_id from certificates where case_id = ${cert.id}`.execute(db)).rows[0];
    t.same(await row(), { state: 'certified', status: 'valid', lab_id: lab.org.id }, 'CERTIFY: valid');
    // The record's certificate carries the same status as the register's row, in the same statement.
    const recordStatus = async (id: string) =>
      (await sql<{ status: string | null }>`select record -> 'certificate' ->> 'status' as status from cases where id = ${id}`.execute(db)).rows[0]!.status;
    t.equal(await recordStatus(cert.id), 'valid', "CERTIFY: the record's status is the register's");
    t.equal(cert.record.certificate.status, 'valid', 'and so is the answer');

    const R = c.regulator.token;
    const steps: Array<[token: string, type: string, payload: unknown, state: string, status: string]> = [
      [lab.token, 'POST_SURVEILLANCE', { findings: 'annual audit clean', verdict: 'pass' }, 'certified', 'valid'],
      [lab.token, 'POST_SURVEILLANCE', { findings: 'guard rail missing', verdict: 'fail' }, 'suspended', 'suspended'],
      [R, 'RESTORE', {}, 'certified', 'valid'],
      [R, 'SUSPEND', { reason: 'field incident' }, 'suspended', 'suspended'],
      [R, 'REVOKE', { reason: 'fraudulent report' }, 'revoked', 'revoked'],
    ];
    for (const [token, type, payload, state, status] of steps) {
      const answered = c.ok(await c.fire(token, cert.id, type, payload)).case;
      t.same(await row(), { state, status, lab_id: lab.org.id }, `${type}: ${status}`);
      t.equal(await recordStatus(cert.id), status, `${type}: the record's status is the register's`);
      t.equal(answered.record.certificate.status, status);
    }

    // The scheduler's path (several due deadlines written in one statement) writes them the same way.
    const others = [await c.certify({ product: await c.robot(), scheme: 'robot-safety', lab }), await c.certify({ product: await c.robot(), scheme: 'robot-safety', lab })];
    ta.clock.advance(4 * 366 * DAY);
    await sweepOnce(ta.app.engine);
    for (const other of others) {
      const expired = (await sql<{ state: string; status: string }>`select state, status from certificates where case_id = ${other.id}`.execute(db)).rows[0];
      t.same(expired, { state: 'expired', status: 'expired' }, 'EXPIRE fired by the scheduler: expired');
      t.equal(await recordStatus(other.id), 'expired', "the scheduler's EXPIRE: the record's status is the register's");
    }
  });
});
