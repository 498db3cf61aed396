import { buildTestApp } from '../helpers/app.js';
import { certificationCast } from './cast.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const c = await certificationCast(ta);
  const lab = await c.lab(['robot-safety', 'genai-security']);

  /** The case's history, oldest first (small enough in these tests to be one page). */
  const history = async (id: string) => c.ok(await ta.req({ method: 'GET', url: `/v1/certification-cases/${id}/events`, token: c.regulator.token })).items;

  async function testingCase(scheme = 'robot-safety') {
    const product = scheme === 'genai-security' ? await c.genai() : await c.robot();
    const created = await c.createCase(product, scheme);
    for (const [token, type, payload] of [
      [c.applicant.token, 'SUBMIT'],
      [c.regulator.token, 'ASSIGN_LAB', { lab_id: lab.org.id }],
      [lab.token, 'ACCEPT_ASSIGNMENT'],
    ] as Array<[string, string, unknown?]>) {
      c.ok(await c.fire(token, created.id, type, payload));
    }
    return created.id as string;
  }

  t.test('results with a missing, duplicate, unknown or N/A-mandatory criterion are refused and not stored', async (t) => {
    const id = await testingCase();
    const criteria = await c.criteria('robot-safety');
    const mandatory = criteria.filter((x) => x.mandatory).map((x) => x.id);
    const optional = criteria.filter((x) => !x.mandatory).map((x) => x.id);
    t.ok(mandatory.includes('emergency-stop') && mandatory.includes('speed-separation-monitoring') && mandatory.includes('power-force-limiting'));
    const full = await c.results('robot-safety');
    const cases: Array<[string, unknown[], RegExp]> = [
      ['missing', full.results.filter((r) => r.criterion_id !== 'emergency-stop'), /mandatory criteria missing: emergency-stop/],
      ['duplicate', [...full.results, full.results[0]], /appears more than once/],
      ['unknown', [...full.results, { criterion_id: 'laser-safety', verdict: 'pass' }], /laser-safety is not a criterion/],
      ['N/A mandatory', full.results.map((r) => (r.criterion_id === 'power-force-limiting' ? { ...r, verdict: 'not_applicable' } : r)), /power-force-limiting cannot be not_applicable/],
    ];
    for (const [name, results, message] of cases) {
      const r = await c.fire(lab.token, id, 'POST_RESULTS', { ...full, results });
      t.equal(r.statusCode, 422, name);
      t.equal(r.json().code, 'rule_violation', name);
      t.equal(r.json().rule, 'resultsComplete', name);
      t.match(r.json().detail, message, name);
    }
    const badDigest = await c.fire(lab.token, id, 'POST_RESULTS', { ...full, results: [{ ...full.results[0], evidence_sha256: 'ABC' }] });
    t.equal(badDigest.statusCode, 400);
    t.match(badDigest.json().errors, [{ path: 'body/payload/results/0/evidence_sha256' }]);
    const noReport = await c.fire(lab.token, id, 'POST_RESULTS', { results: full.results, summary: 'x', tested_at: full.tested_at });
    t.equal(noReport.statusCode, 400);
    t.match(noReport.json().errors, [{ path: 'body/payload/report_sha256', message: 'is required' }]);

    const stored = (await c.get(c.regulator.token, id)).json();
    t.equal(stored.state, 'testing');
    t.same(stored.record.results_rounds, { count: 0, latest_at: null });
    t.equal(stored.record.latest_results, undefined);
    t.same((await history(id)).map((e: any) => e.type), ['CASE_CREATED', 'SUBMIT', 'ASSIGN_LAB', 'ACCEPT_ASSIGNMENT'], 'nor in the history');

    const naOptional = full.results.map((r) => (optional.includes(r.criterion_id) ? { criterion_id: r.criterion_id, verdict: 'not_applicable' } : r));
    const accepted = await c.fire(lab.token, id, 'POST_RESULTS', { ...full, results: naOptional });
    t.equal(accepted.statusCode, 200, 'an optional criterion may be not_applicable');
    t.equal(accepted.json().case.record.latest_results.mandatory_passed, true);
  });

  t.test('CERTIFY with a failed mandatory criterion is refused; a retest keeps both rounds; numbers stay gap-free', async (t) => {
    const id = await testingCase('genai-security');
    const failing = await c.results('genai-security', ['refusal-behaviour']);
    t.equal((await c.fire(lab.token, id, 'POST_RESULTS', failing)).statusCode, 200);
    const refused = await c.fire(c.regulator.token, id, 'CERTIFY');
    t.equal(refused.statusCode, 422);
    t.equal(refused.json().code, 'rule_violation');
    t.equal(refused.json().rule, 'mandatoryPassed');
    t.match(refused.json().detail, /not passed: refusal-behaviour/);
    t.equal((await c.get(c.regulator.token, id)).json().record.certificate, undefined);

    const retest = await c.fire(c.regulator.token, id, 'REQUEST_RETEST', { reason: 'Refusal policy retrained; retest refusal behaviour' });
    t.equal(retest.json().case.state, 'testing');
    const passing = await c.results('genai-security');
    t.equal((await c.fire(lab.token, id, 'POST_RESULTS', passing)).statusCode, 200);
    const certified = await c.fire(c.regulator.token, id, 'CERTIFY');
    t.equal(certified.statusCode, 200, certified.body);
    const rec = certified.json().case.record;
    t.equal(rec.results_rounds.count, 2, 'both rounds are counted');
    t.match(rec.latest_results, { round: 2, mandatory_passed: true, report_sha256: passing.report_sha256 }, 'the latest is the one certified');
    t.equal(rec.retests.count, 1);
    // Both rounds are kept, as POST_RESULTS events of the case's history, with the retest between them.
    const kept = (await history(id)).filter((e: any) => ['POST_RESULTS', 'REQUEST_RETEST'].includes(e.type));
    t.same(kept.map((e: any) => e.type), ['POST_RESULTS', 'REQUEST_RETEST', 'POST_RESULTS']);
    t.match(kept[0].payload, { report_sha256: failing.report_sha256, summary: 'failed: refusal-behaviour' });
    t.equal(kept[0].payload.results.find((r: any) => r.criterion_id === 'refusal-behaviour').verdict, 'fail');
    t.match(kept[1].payload, { reason: /retest refusal behaviour/ });
    t.match(kept[2].payload, { report_sha256: passing.report_sha256 });
    t.equal(rec.certificate.number, `GDAIC-${ta.clock.now().getUTCFullYear()}-000001`, 'the refused CERTIFY used no number');
  });

  t.test('DENY ends the case without a certificate', async (t) => {
    const id = await testingCase();
    t.equal((await c.fire(lab.token, id, 'POST_RESULTS', await c.results('robot-safety', ['stability']))).statusCode, 200);
    const denied = await c.fire(c.regulator.token, id, 'DENY', { reason: 'Tips over at 10 degrees' });
    t.equal(denied.json().case.state, 'not_certified');
    t.equal((await c.fire(c.regulator.token, id, 'REQUEST_RETEST', { reason: 'again' })).statusCode, 409);
  });

  t.test('a failed surveillance suspends the certificate; surveillance is only for the certified', async (t) => {
    const id = await testingCase();
    t.equal((await c.fire(lab.token, id, 'POST_SURVEILLANCE', { findings: 'early', verdict: 'pass' })).statusCode, 409);
    t.equal((await c.fire(lab.token, id, 'POST_RESULTS', await c.results('robot-safety'))).statusCode, 200);
    const cert = (await c.fire(c.regulator.token, id, 'CERTIFY')).json().case.record.certificate;
    const r = await c.fire(lab.token, id, 'POST_SURVEILLANCE', { findings: 'Speed and separation monitoring disabled on site', verdict: 'fail' });
    t.equal(r.statusCode, 200);
    t.equal(r.json().case.state, 'suspended');
    t.same(r.json().case.record.surveillance, { count: 1, latest_at: ta.clock.now().toISOString() });
    t.equal(r.json().case.lab_id, lab.org.id);
    t.match((await history(id)).at(-1), { type: 'POST_SURVEILLANCE', payload: { verdict: 'fail' }, actor: { role: 'lab' }, to_state: 'suspended' });
    t.same(r.json().case.deadlines, { valid_until: cert.valid_until }, 'a suspended certificate keeps its expiry');
    t.equal((await ta.req({ method: 'GET', url: `/v1/register/certificates/${cert.number}` })).json().status, 'suspended');
    const bad = await c.fire(lab.token, id, 'POST_SURVEILLANCE', { findings: 'x', verdict: 'fail' });
    t.equal(bad.statusCode, 409);
    t.same(bad.json().allowed_events, []);
  });

  t.test('the audit chains and replays of every case above verify', async (t) => {
    const v = await ta.req({ method: 'GET', url: '/v1/audit/verify', token: c.regulator.token });
    t.equal(v.json().ok, true, v.body);
  });
});
