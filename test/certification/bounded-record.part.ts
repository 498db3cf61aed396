import { buildTestApp } from '../helpers/app.js';
import { certificateStatusHistory } from '../../src/register/certificates.js';
import { CERTIFICATE_STATUS_EVENTS, certificationWorkflow } from '../../workflows/certification.js';
import { DAY, certificationCast } from './cast.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // A certification case's record is bounded (SPEC §2): however many assignments, rounds of results,
  // retests, surveillance findings and status changes a case has, its record holds their counts and
  // the latest round, never the items, which are the case's events. The certificate's public status
  // history is read from those events.

  const ta = await buildTestApp(t);
  const c = await certificationCast(ta);
  const lab = await c.lab(['robot-safety'], new Date(ta.clock.now().getTime() + 5 * 365 * DAY).toISOString(), '佛山机器人检测所');
  const other = await c.lab(['robot-safety'], new Date(ta.clock.now().getTime() + 5 * 365 * DAY).toISOString());
  const R = c.regulator.token;

  /** Every path in `x` that holds an array. */
  function arrays(x: unknown, path = ''): string[] {
    if (Array.isArray(x)) return [path];
    if (x && typeof x === 'object') return Object.entries(x).flatMap(([k, v]) => arrays(v, path ? `${path}.${k}` : k));
    return [];
  }

  const kase = await c.createCase(await c.robot(), 'robot-safety');
  const id = kase.id as string;
  const fire = async (token: string, type: string, payload?: unknown) => {
    ta.clock.advance(DAY);
    return c.ok(await c.fire(token, id, type, payload)).case;
  };
  /** The case's whole history, oldest first, page after page. */
  async function history(): Promise<any[]> {
    const items: any[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: any[]; next_cursor: string | null } = c.ok(
        await ta.req({ method: 'GET', url: `/v1/certification-cases/${id}/events${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`, token: R }),
      );
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  }
  const size = (record: unknown) => Buffer.byteLength(JSON.stringify(record));

  // A decline and a second assignment; three rounds of results with two retests; then certified.
  await fire(c.applicant.token, 'SUBMIT');
  await fire(R, 'ASSIGN_LAB', { lab_id: other.org.id });
  await fire(other.token, 'DECLINE_ASSIGNMENT', { reason: 'No capacity this quarter' });
  await fire(R, 'ASSIGN_LAB', { lab_id: lab.org.id });
  await fire(lab.token, 'ACCEPT_ASSIGNMENT');
  const rounds = [await c.results('robot-safety', ['emergency-stop']), await c.results('robot-safety', ['stability']), await c.results('robot-safety')];
  for (const [i, round] of rounds.entries()) {
    await fire(lab.token, 'POST_RESULTS', { ...round, tested_at: ta.clock.now().toISOString() });
    if (i < rounds.length - 1) await fire(R, 'REQUEST_RETEST', { reason: `Retest ${i + 1}: fix ${round.summary}` });
  }
  const certified = await fire(R, 'CERTIFY');
  const number = certified.record.certificate.number as string;

  /** The status changes made below, as the public history must list them: [event, status, reason]. */
  const expected: Array<[string, string, string | null]> = [['CERTIFY', 'valid', null]];
  const findings = (n: number) => `Surveillance visit ${n}: ${'all stops and force limits verified on site; '.repeat(40)}`;
  let visits = 0;
  async function surveil(verdict: 'pass' | 'fail') {
    visits++;
    const after = await fire(lab.token, 'POST_SURVEILLANCE', { findings: findings(visits), verdict });
    expected.push(['POST_SURVEILLANCE', verdict === 'pass' ? 'valid' : 'suspended', null]);
    return after;
  }

  await surveil('pass');
  await surveil('fail');
  await fire(R, 'RESTORE');
  expected.push(['RESTORE', 'valid', null]);
  await fire(R, 'SUSPEND', { reason: 'Collision reported at a customer site' });
  expected.push(['SUSPEND', 'suspended', 'Collision reported at a customer site']);
  await fire(R, 'RESTORE', { reason: 'Firmware 2.3 limits speed near people' });
  expected.push(['RESTORE', 'valid', 'Firmware 2.3 limits speed near people']);
  // Ten visits in all (so the counts below keep their number of digits), then thirty more.
  for (let i = 0; i < 8; i++) await surveil('pass');
  const at10 = (await c.get(R, id)).json().record;

  t.test('after retests and surveillance, the record holds counts and the latest round, no list of items', async (t) => {
    const record = (await c.get(R, id)).json().record;
    t.same(Object.keys(record).sort(), ['assignments', 'certificate', 'decision', 'lab', 'latest_results', 'results_rounds', 'retests', 'status_changes', 'submitted_at', 'surveillance']);
    t.same(arrays(record).sort(), ['latest_results.mandatory_criteria', 'latest_results.results'], 'the only lists are the latest round’s, bounded by the scheme’s criteria');
    t.equal(record.latest_results.results.length, (await c.criteria('robot-safety')).length);
    t.equal(record.assignments.count, 2);
    t.equal(record.results_rounds.count, 3);
    t.match(record.latest_results, { round: 3, mandatory_passed: true, report_sha256: rounds[2]!.report_sha256, lab_id: lab.org.id });
    t.equal(record.retests.count, 2);
    t.equal(record.surveillance.count, 10);
    t.equal(record.status_changes.count, expected.length);
    t.equal(record.status_changes.latest_at, record.surveillance.latest_at, 'the last status change was the last visit');
    t.match(record.lab, { id: lab.org.id, name: '佛山机器人检测所', assigned_by: { role: 'regulator' } });
    t.match(record.certificate, { number, status: 'valid' });
    t.notMatch(JSON.stringify(record), /Surveillance visit|No capacity|Retest 1|Collision/, 'no finding, reason or earlier round is copied into the record');
  });

  t.test('the record does not grow with more surveillance findings', async (t) => {
    for (let i = 0; i < 30; i++) await surveil('pass');
    const at40 = (await c.get(R, id)).json().record;
    t.equal(at40.surveillance.count, 40);
    t.equal(size(at40), size(at10), `${size(at10)} bytes after 10 visits and after 40`);
    t.same({ ...at40, surveillance: null, status_changes: null }, { ...at10, surveillance: null, status_changes: null }, 'only the counts and times moved');
    const stored = await ta.database.db.selectFrom('cases').select('record').where('id', '=', id).executeTakeFirstOrThrow();
    t.same(stored.record, at40, 'the stored record is the one answered');
  });

  t.test('each item is an event of the case’s history', async (t) => {
    const items = await history();
    const count = (type: string) => items.filter((e) => e.type === type).length;
    const record = (await c.get(R, id)).json().record;
    t.equal(count('ASSIGN_LAB'), record.assignments.count);
    t.equal(count('POST_RESULTS'), record.results_rounds.count);
    t.equal(count('REQUEST_RETEST'), record.retests.count);
    t.equal(count('POST_SURVEILLANCE'), record.surveillance.count);
    t.equal(items.filter((e) => CERTIFICATE_STATUS_EVENTS.includes(e.type)).length, record.status_changes.count);
    t.same(
      items.filter((e) => e.type === 'POST_RESULTS').map((e) => e.payload.report_sha256),
      rounds.map((r) => r.report_sha256),
      'every round is kept, in order',
    );
    t.equal(items.filter((e) => e.type === 'POST_SURVEILLANCE').at(-1).payload.findings, findings(40));
  });

  t.test('the public status history lists every change in order, read from the history', async (t) => {
    const changes = await certificateStatusHistory(ta.database.db, number.toLowerCase());
    t.same(
      changes?.map((h) => [h.event, h.status, h.reason]),
      expected,
    );
    const events = await history();
    t.same(
      changes?.map((h) => h.at),
      events.filter((e) => CERTIFICATE_STATUS_EVENTS.includes(e.type)).map((e) => e.at),
      'each at its event’s time',
    );
    t.equal(changes?.at(-1)?.status, certificationWorkflow.certificateStatus[(await c.get(R, id)).json().state], 'the last change is the status now');
    t.equal(await certificateStatusHistory(ta.database.db, 'GDAIC-1999-000001'), null, 'no such certificate');

    const page = await ta.req({ method: 'GET', url: `/register/certificates/${number}`, headers: { 'accept-language': 'en' } });
    t.equal(page.statusCode, 200);
    const rows = [...page.body.matchAll(/<td data-label="Event">([^<]+)<\/td>\n<td data-label="Status"><span class="badge s-(\w+)">/g)].map((m) => m[2]);
    t.same(rows, expected.map(([, status]) => status), 'the page shows every change');
    t.notMatch(page.body, /Surveillance visit/, 'surveillance findings stay private');
  });

  t.test('the audit chains and replays verify', async (t) => {
    const v = await ta.req({ method: 'GET', url: '/v1/audit/verify', token: R });
    t.equal(v.statusCode, 200);
    t.equal(v.json().ok, true, v.body);
  });
});
