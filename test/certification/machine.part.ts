import { CERTIFICATE_STATUS_EVENTS, certificationWorkflow as wf, type CertificationRecord } from '../../workflows/certification.js';
import { deadlinesOf, finalStates } from '../../src/engine/machine.js';
import { given as machine, type Step } from '../helpers/machine.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ORG = '00000000-0000-4000-8000-0000000000aa';
  const LAB = '00000000-0000-4000-8000-0000000000bb';
  const T0 = '2026-06-01T00:00:00.000Z';
  const day = (n: number) => new Date(Date.parse(T0) + n * 86_400_000).toISOString();
  const sha = 'ab'.repeat(32);

  const CRITERIA = [
    { id: 'emergency-stop', title: 'E-stop', mandatory: true },
    { id: 'power-force-limiting', title: 'PFL', mandatory: true },
    { id: 'user-information', title: 'Markings', mandatory: false },
  ];
  const schemeFacts = { product: { id: 'p', kind: 'robot' }, scheme: { code: 'robot-safety', product_kinds: ['robot', 'embodied_ai'] } };
  const labFacts = (over: Record<string, unknown> = {}, acc: Record<string, unknown> | null = {}) => ({
    lab: {
      id: LAB,
      name: 'Guangzhou Robot Test Centre',
      kind: 'lab',
      accreditation: acc && { accreditation_number: 'CNAS L0001', schemes: ['robot-safety'], valid_until: day(365), ...acc },
      ...over,
    },
  });
  const pass = [
    { criterion_id: 'emergency-stop', verdict: 'pass' },
    { criterion_id: 'power-force-limiting', verdict: 'pass' },
    { criterion_id: 'user-information', verdict: 'not_applicable' },
  ];
  const results = (rs: unknown[] = pass, over: Record<string, unknown> = {}) => ({ results: rs, summary: 'all good', report_sha256: sha, tested_at: day(0), ...over });

  /** Given these events, when this one: the next state or the rule that refused it (no database). */
  const given = (...events: Step[]) =>
    machine<CertificationRecord>(wf, {
      number: 'CERT-2026-000001',
      organization_id: ORG,
      application: { product_id: '00000000-0000-4000-8000-0000000000cc', scheme: 'robot-safety', declared_scope: 'Model R1 arm, firmware 2.x' },
    }).events(...events);

  const submitted: Step[] = [['SUBMIT', {}, { role: 'applicant', facts: schemeFacts }]];
  const assigned: Step[] = [...submitted, ['ASSIGN_LAB', { lab_id: LAB }, { facts: labFacts() }]];
  const testing: Step[] = [...assigned, ['ACCEPT_ASSIGNMENT', {}, { role: 'lab' }]];
  const posted = (rs: unknown[] = pass): Step[] => [...testing, ['POST_RESULTS', results(rs), { role: 'lab', facts: { criteria: CRITERIA } }]];
  const certified: Step[] = [...posted(), ['CERTIFY', {}, { facts: { certificate_number: 'GDAIC-2026-000001', validity_months: 36 } }]];
  const suspended: Step[] = [...certified, ['SUSPEND', { reason: 'field incident' }]];

  t.test('the event catalogue gives each event the roles of SPEC §3.2', async (t) => {
    const roles = Object.fromEntries(Object.entries(wf.events).filter(([, s]) => !s.internal).map(([k, s]) => [k, s.roles]));
    t.same(roles, {
      SUBMIT: ['applicant'],
      WITHDRAW: ['applicant'],
      ASSIGN_LAB: ['regulator'],
      ACCEPT_ASSIGNMENT: ['lab'],
      DECLINE_ASSIGNMENT: ['lab'],
      POST_RESULTS: ['lab'],
      REQUEST_RETEST: ['regulator'],
      CERTIFY: ['regulator'],
      DENY: ['regulator'],
      POST_SURVEILLANCE: ['lab'],
      SUSPEND: ['regulator'],
      RESTORE: ['regulator'],
      REVOKE: ['regulator'],
      EXPIRE: ['system'],
    });
    t.same(finalStates(wf).sort(), ['expired', 'not_certified', 'revoked', 'withdrawn']);
    for (const s of finalStates(wf)) t.equal(wf.machine.root.states[s]!.transitions.size, 0, `${s} is final`);
  });

  t.test('SUBMIT: draft → submitted when the scheme covers the product kind', async (t) => {
    const r = given().when('SUBMIT', {}, { role: 'applicant', facts: schemeFacts });
    t.equal(r.state, 'submitted');
    t.equal(r.record?.submitted_at, day(0));
  });

  t.test('SUBMIT is refused for a product kind the scheme does not cover', async (t) => {
    const r = given().when('SUBMIT', {}, { role: 'applicant', facts: { ...schemeFacts, product: { id: 'p', kind: 'genai_service' } } });
    t.equal(r.violation?.rule, 'productKindCovered');
    t.match(r.violation?.message, /covers products of kind robot, embodied_ai, not genai_service/);
  });

  t.test('SUBMIT is refused for an unknown scheme', async (t) => {
    t.equal(given().when('SUBMIT', {}, { role: 'applicant', facts: { ...schemeFacts, scheme: null } }).violation?.rule, 'productKindCovered');
  });

  t.test('WITHDRAW: draft, submitted, lab_assigned, testing → withdrawn; not once results are posted', async (t) => {
    for (const [name, events] of [['draft', []], ['submitted', submitted], ['lab_assigned', assigned], ['testing', testing]] as Array<[string, Step[]]>) {
      const r = given(...events).when('WITHDRAW', {}, { role: 'applicant' });
      t.equal(r.state, 'withdrawn', `from ${name}`);
      t.equal(r.record?.decision?.type, 'WITHDRAW');
    }
    t.equal(given(...posted()).when('WITHDRAW').handled, false);
    t.equal(given(...certified).when('WITHDRAW').handled, false);
  });

  t.test('ASSIGN_LAB: submitted → lab_assigned, recording the lab and its accreditation', async (t) => {
    const r = given(...submitted).when('ASSIGN_LAB', { lab_id: LAB }, { facts: labFacts() });
    t.equal(r.state, 'lab_assigned');
    t.same(r.record?.lab, {
      id: LAB,
      name: 'Guangzhou Robot Test Centre',
      accreditation_number: 'CNAS L0001',
      accreditation_valid_until: day(365),
      assigned_at: day(0),
      assigned_by: { principal_id: null, role: 'regulator' },
    });
    t.same(r.record?.assignments, { count: 1, latest_at: day(0) });
    t.equal(wf.labOf(r.context!), LAB);
  });

  t.test('ASSIGN_LAB is refused for ineligible labs', async (t) => {
    const cases: Array<[string, Record<string, unknown>, unknown, RegExp]> = [
      ['the applicant itself', { lab_id: ORG }, labFacts({ id: ORG }), /conflict of interest/],
      ['no such organization', { lab_id: LAB }, { lab: null }, /names no organization/],
      ['not a lab', { lab_id: LAB }, labFacts({ kind: 'enterprise' }), /is not a lab/],
      ['unaccredited', { lab_id: LAB }, labFacts({}, null), /holds no accreditation/],
      ['out of scope', { lab_id: LAB }, labFacts({}, { schemes: ['ai-ethics'] }), /does not cover scheme robot-safety/],
      ['accreditation expired', { lab_id: LAB }, labFacts({}, { valid_until: day(-1) }), /accreditation .* expired/],
      ['accreditation ends at the event', { lab_id: LAB }, labFacts({}, { valid_until: day(0) }), /expired/],
    ];
    for (const [name, payload, facts, message] of cases) {
      const r = given(...submitted).when('ASSIGN_LAB', payload, { facts });
      t.equal(r.violation?.rule, 'labEligible', name);
      t.match(r.violation?.message, message, name);
    }
  });

  t.test('ACCEPT_ASSIGNMENT: lab_assigned → testing', async (t) => {
    const r = given(...assigned).when('ACCEPT_ASSIGNMENT', {}, { role: 'lab', at: day(1) });
    t.equal(r.state, 'testing');
    t.equal(r.record?.lab?.accepted_at, day(1));
    t.equal(r.record?.lab?.assigned_at, day(0), 'the assignment accepted is the current one');
  });

  t.test('DECLINE_ASSIGNMENT: lab_assigned → submitted, and the lab no longer sees the case', async (t) => {
    const r = given(...assigned).when('DECLINE_ASSIGNMENT', { reason: 'no capacity' }, { role: 'lab' });
    t.equal(r.state, 'submitted');
    t.equal(r.record?.lab, null);
    t.equal(wf.labOf(r.context!), null);
    t.same(r.record?.assignments, { count: 1, latest_at: day(0) }, 'the decline and its reason are the event; the assignment still counts');
    const again = given(...assigned, ['DECLINE_ASSIGNMENT', { reason: 'no capacity' }, { role: 'lab' }]).when('ASSIGN_LAB', { lab_id: LAB }, { facts: labFacts(), at: day(2) });
    t.equal(again.state, 'lab_assigned', 'another assignment is possible');
    t.same(again.record?.assignments, { count: 2, latest_at: day(2) });
    t.match(again.record?.lab, { id: LAB, assigned_at: day(2) });
  });

  t.test('POST_RESULTS: testing → results_posted with a round of results', async (t) => {
    const r = given(...testing).when('POST_RESULTS', results(), { role: 'lab', at: day(2), facts: { criteria: CRITERIA } });
    t.equal(r.state, 'results_posted');
    t.same(r.record?.results_rounds, { count: 1, latest_at: day(2) });
    t.match(r.record?.latest_results, { round: 1, lab_id: LAB, mandatory_criteria: ['emergency-stop', 'power-force-limiting'], mandatory_passed: true, report_sha256: sha, posted_at: day(2) });
  });

  t.test('POST_RESULTS is refused for missing, duplicate, unknown and N/A-mandatory criteria', async (t) => {
    const cases: Array<[string, unknown[], RegExp]> = [
      ['missing', [pass[0]], /mandatory criteria missing: power-force-limiting/],
      ['duplicate', [...pass, pass[0]], /emergency-stop appears more than once/],
      ['unknown', [...pass, { criterion_id: 'laser-safety', verdict: 'pass' }], /laser-safety is not a criterion of the scheme/],
      ['N/A mandatory', [pass[0], { criterion_id: 'power-force-limiting', verdict: 'not_applicable' }], /mandatory criterion power-force-limiting cannot be not_applicable/],
    ];
    for (const [name, rs, message] of cases) {
      const r = given(...testing).when('POST_RESULTS', results(rs), { role: 'lab', facts: { criteria: CRITERIA } });
      t.equal(r.violation?.rule, 'resultsComplete', name);
      t.match(r.violation?.message, message, name);
    }
    const future = given(...testing).when('POST_RESULTS', results(pass, { tested_at: day(3) }), { role: 'lab', facts: { criteria: CRITERIA } });
    t.match(future.violation?.message, /tested_at may not be in the future/);
  });

  t.test('POST_RESULTS accepts a failed mandatory criterion (the decision is CERTIFY or DENY)', async (t) => {
    const r = given(...testing).when('POST_RESULTS', results([pass[0], { criterion_id: 'power-force-limiting', verdict: 'fail', notes: '180 N at the chest' }]), { role: 'lab', facts: { criteria: CRITERIA } });
    t.equal(r.state, 'results_posted');
    t.equal(r.record?.latest_results?.mandatory_passed, false);
  });

  t.test('REQUEST_RETEST: results_posted → testing, and the next round is added, not overwritten', async (t) => {
    const failing = [pass[0], { criterion_id: 'power-force-limiting', verdict: 'fail' }];
    const r = given(...posted(failing)).when('REQUEST_RETEST', { reason: 'retest after padding fitted' }, { at: day(1) });
    t.equal(r.state, 'testing');
    t.same(r.record?.retests, { count: 1, latest_at: day(1) });
    t.match(r.record?.latest_results, { round: 1, mandatory_passed: false }, 'the round retested stays the latest until the next is posted');
    const again = given(...posted(failing), ['REQUEST_RETEST', { reason: 'retest' }]).when('POST_RESULTS', results(), { role: 'lab', facts: { criteria: CRITERIA } });
    t.equal(again.state, 'results_posted');
    t.same(again.record?.results_rounds, { count: 2, latest_at: day(0) });
    t.match(again.record?.latest_results, { round: 2, mandatory_passed: true }, 'the next round is the latest; round 1 is its POST_RESULTS event');
  });

  t.test('CERTIFY: results_posted → certified, issuing the certificate and its expiry deadline', async (t) => {
    const r = given(...posted()).when('CERTIFY', {}, { at: '2026-01-31T08:00:00.000Z', facts: { certificate_number: 'GDAIC-2026-000007', validity_months: 1 } });
    t.equal(r.state, 'certified');
    t.same(r.record?.certificate, { number: 'GDAIC-2026-000007', issued_at: '2026-01-31T08:00:00.000Z', valid_until: '2026-02-28T08:00:00.000Z', scope: 'Model R1 arm, firmware 2.x', status: 'valid' });
    t.same(deadlinesOf(wf, r.state!, r.context!), [{ name: 'valid_until', at: '2026-02-28T08:00:00.000Z', event: 'EXPIRE' }]);
    t.same(r.record?.status_changes, { count: 1, latest_at: '2026-01-31T08:00:00.000Z' });
    const scoped = given(...posted()).when('CERTIFY', { scope: 'R1 arm only' }, { facts: { certificate_number: 'GDAIC-2026-000008', validity_months: 36 } });
    t.equal(scoped.record?.certificate?.scope, 'R1 arm only');
  });

  t.test('CERTIFY is refused when a mandatory criterion of the last round did not pass', async (t) => {
    const r = given(...posted([pass[0], { criterion_id: 'power-force-limiting', verdict: 'fail' }])).when('CERTIFY', {}, { facts: { certificate_number: 'GDAIC-2026-000001', validity_months: 36 } });
    t.equal(r.violation?.rule, 'mandatoryPassed');
    t.match(r.violation?.message, /not passed: power-force-limiting/);
  });

  t.test('DENY: results_posted → not_certified with the reason', async (t) => {
    const r = given(...posted()).when('DENY', { reason: 'report inconsistent' });
    t.equal(r.state, 'not_certified');
    t.match(r.record?.decision, { type: 'DENY', reason: 'report inconsistent' });
  });

  t.test('POST_SURVEILLANCE: pass keeps the certificate valid, fail suspends it', async (t) => {
    const ok = given(...certified).when('POST_SURVEILLANCE', { findings: 'annual audit clean', verdict: 'pass' }, { role: 'lab', at: day(100) });
    t.equal(ok.state, 'certified');
    t.same(ok.record?.surveillance, { count: 1, latest_at: day(100) });
    t.equal(ok.record?.certificate?.status, 'valid');
    t.same(ok.record?.status_changes, { count: 2, latest_at: day(100) });
    const bad = given(...certified).when('POST_SURVEILLANCE', { findings: 'e-stop disabled in production units', verdict: 'fail' }, { role: 'lab', at: day(5) });
    t.equal(bad.state, 'suspended');
    t.equal(bad.record?.certificate?.status, 'suspended');
    t.same(bad.record?.surveillance, { count: 1, latest_at: day(5) });
    t.same(bad.record?.status_changes, { count: 2, latest_at: day(5) });
    t.notMatch(JSON.stringify(bad.record), /e-stop disabled/, 'the findings are the event, not the record');
  });

  t.test('SUSPEND: certified → suspended, recording who and why', async (t) => {
    const r = given(...certified).when('SUSPEND', { reason: 'field incident' }, { at: day(10) });
    t.equal(r.state, 'suspended');
    t.equal(r.record?.certificate?.status, 'suspended');
    t.same(r.record?.status_changes, { count: 2, latest_at: day(10) }, 'who and why are the SUSPEND event');
    t.equal(deadlinesOf(wf, r.state!, r.context!)[0]?.event, 'EXPIRE', 'a suspended certificate still expires');
  });

  t.test('RESTORE: suspended → certified within validity; refused after it', async (t) => {
    const r = given(...suspended).when('RESTORE', { reason: 'corrective actions verified' }, { at: day(20) });
    t.equal(r.state, 'certified');
    t.equal(r.record?.certificate?.status, 'valid');
    t.same(r.record?.status_changes, { count: 3, latest_at: day(20) });
    t.equal(given(...suspended).when('RESTORE').record?.certificate?.status, 'valid', 'with or without a reason');
    const late = given(...suspended).when('RESTORE', {}, { at: day(365 * 3 + 1) });
    t.equal(late.violation?.rule, 'withinValidity');
  });

  t.test('REVOKE: certified or suspended → revoked', async (t) => {
    for (const events of [certified, suspended]) {
      const r = given(...events).when('REVOKE', { reason: 'fraudulent report' });
      t.equal(r.state, 'revoked');
      t.equal(r.record?.certificate?.status, 'revoked');
      t.equal(r.record?.status_changes.count, events === certified ? 2 : 3);
    }
  });

  t.test('EXPIRE: certified or suspended → expired at valid_until, not before', async (t) => {
    const until = given(...certified).record.certificate!.valid_until;
    for (const events of [certified, suspended]) {
      const early = given(...events).when('EXPIRE', {}, { role: 'system', at: day(30) });
      t.equal(early.violation?.rule, 'validityEnded');
      const r = given(...events).when('EXPIRE', {}, { role: 'system', at: until });
      t.equal(r.state, 'expired');
      t.equal(r.record?.certificate?.status, 'expired');
      t.same(r.record?.status_changes, { count: events === certified ? 2 : 3, latest_at: until });
      t.same(deadlinesOf(wf, r.state!, r.context!), [], 'nothing left to fire');
    }
  });

  t.test('events are refused in states that do not handle them', async (t) => {
    t.equal(given().when('CERTIFY').handled, false);
    t.equal(given(...submitted).when('POST_RESULTS').handled, false);
    t.equal(given(...testing).when('CERTIFY').handled, false);
    t.equal(given(...certified).when('RESTORE').handled, false);
    t.equal(given(...suspended).when('POST_SURVEILLANCE').handled, false);
    t.equal(given(...suspended).when('SUSPEND').handled, false);
  });

  t.test('CERTIFY is judged on the latest round: a retest that fails after a passing round is refused', async (t) => {
    const failing = [pass[0], { criterion_id: 'power-force-limiting', verdict: 'fail' }];
    const r = given(...posted(), ['REQUEST_RETEST', { reason: 'new firmware' }], ['POST_RESULTS', results(failing), { role: 'lab', facts: { criteria: CRITERIA } }]).when('CERTIFY', {}, {
      facts: { certificate_number: 'GDAIC-2026-000001', validity_months: 36 },
    });
    t.equal(r.violation?.rule, 'mandatoryPassed');
    t.equal(r.violation?.message, 'every mandatory criterion must pass; not passed: power-force-limiting');
  });

  t.test("the record's certificate status is the one its state declares for the register, after every event", async (t) => {
    t.same(CERTIFICATE_STATUS_EVENTS, ['CERTIFY', 'POST_SURVEILLANCE', 'SUSPEND', 'RESTORE', 'REVOKE', 'EXPIRE'], 'the events that change it, derived from the machine');
    const lab = { role: 'lab' as const };
    const paths: Step[][] = [
      [
        ...certified,
        ['POST_SURVEILLANCE', { findings: 'clean', verdict: 'pass' }, lab],
        ['POST_SURVEILLANCE', { findings: 'guard missing', verdict: 'fail' }, lab],
        ['RESTORE', {}],
        ['SUSPEND', { reason: 'incident' }],
        ['RESTORE', { reason: 'fixed' }],
        ['REVOKE', { reason: 'fraud' }],
      ],
      [...suspended, ['EXPIRE', {}, { role: 'system', at: day(365 * 3 + 1) }]],
    ];
    for (const path of paths) {
      const g = given();
      let changes = 0;
      for (const e of path) {
        g.events(e);
        if (CERTIFICATE_STATUS_EVENTS.includes(e[0])) changes++;
        const declared = wf.certificateStatus[g.state];
        t.equal(g.record.certificate?.status, declared, `after ${e[0]} (${g.state})`);
        t.equal(g.record.status_changes.count, changes, `after ${e[0]}: status changes counted`);
      }
    }
  });
});
