import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import { sql } from '../../src/db/kysely.js';
import { buildTestApp } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import { sandboxApplication } from '../sandbox/helpers.js';
import { BASE as GENAI, SHA, application as genaiApplication, accreditedLab, projectApi } from '../genai/helpers.js';
import { sweepOnce } from '../../src/scheduler/scheduler.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const canonicalize = canonicalizeModule as unknown as (v: unknown) => string | undefined;
  const DAY = 86_400_000;

  // SPEC §4, written out here from the SPEC rather than taken from src/audit/audit.ts, so that a
  // change to how the service hashes (on the writing and the checking side alike) fails this test:
  //
  //   hash = lowercase hex of SHA-256 over the UTF-8 bytes of  prev_hash ‖ JCS(event)
  //
  // where prev_hash is the previous event's hash as its 64 hex characters (text, not the 32 bytes;
  // 64 zeros for the first event of a chain), JCS is RFC 8785 (the `canonicalize` package), and the
  // event hashed is exactly these eleven members:
  //   {chain_id, seq, case_id, kind, type, actor: {principal_id, role}, from_state, to_state,
  //    payload, facts, at}
  // chain_id is the case id for a case, 'registry' for principals, organizations, products and
  // accreditation (one chain for all of them, case_id, from_state and to_state null); facts is what
  // the engine looked up for the event (null if nothing); at is ISO 8601 with milliseconds, UTC.
  const GENESIS = '0'.repeat(64);
  type Hashed = {
    chain_id: string;
    seq: number;
    case_id: string | null;
    kind: string;
    type: string;
    actor: { principal_id: string | null; role: string };
    from_state: string | null;
    to_state: string | null;
    payload: unknown;
    facts: unknown;
    at: string;
  };
  const specHash = (prevHash: string, event: Hashed) => createHash('sha256').update(prevHash + canonicalize(event)!, 'utf8').digest('hex');

  type StoredRow = Omit<Hashed, 'actor'> & { actor_principal_id: string | null; actor_role: string; prev_hash: string; hash: string };
  const bodyOfStored = (r: StoredRow): Hashed => ({
    chain_id: r.chain_id,
    seq: r.seq,
    case_id: r.case_id,
    kind: r.kind,
    type: r.type,
    actor: { principal_id: r.actor_principal_id, role: r.actor_role },
    from_state: r.from_state,
    to_state: r.to_state,
    payload: r.payload,
    facts: r.facts,
    at: r.at,
  });
  type Chain = Array<{ seq: number; prev_hash: string; hash: string; body: Hashed }>;

  t.test('every stored event hash is sha256(prev_hash ‖ JCS(event)), recomputed independently of the service', async (t) => {
    const ta = await buildTestApp(t);
    const c = await certificationCast(ta);
    const R = c.regulator.token;
    const A = c.applicant.token;
    const ok = (r: Awaited<ReturnType<typeof ta.req>>) => c.ok(r);
    const iso = (ms: number) => new Date(ta.clock.now().getTime() + ms).toISOString();

    // Registry chain: organizations, principals (created and revoked), products, accreditation.
    const lab = await c.lab(['robot-safety']);
    const robot = await c.robot();
    const doomed = await c.principal('regulator');
    t.equal((await ta.req({ method: 'DELETE', url: `/v1/principals/${doomed.id}`, token: ta.adminToken })).statusCode, 204);

    // A sandbox case edited, decided and reported on, with text JCS must escape or keep as is.
    const sandboxProduct = await c.product(A, { name: '分诊助手 "Triage" \\ 🩺' });
    const sb = c.ok(await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: A, payload: sandboxApplication(sandboxProduct.id) }), 201);
    const fireSb = async (token: string, type: string, payload?: unknown) =>
      ok(await ta.req({ method: 'POST', url: `/v1/sandbox-cases/${sb.id}/events`, token, payload: (payload === undefined ? { type } : { type, payload }) as never }));
    ok(await ta.req({ method: 'PATCH', url: `/v1/sandbox-cases/${sb.id}`, token: A, payload: sandboxApplication(sandboxProduct.id, { scenarios: ['医院分诊', 'line\nbreak\u2028sep'] }) }));
    await fireSb(A, 'SUBMIT');
    await fireSb(R, 'START_REVIEW');
    await fireSb(R, 'ADMIT', { conditions: ['每月报告'], testing_period: { start: iso(-DAY), end: iso(120 * DAY) } });
    await fireSb(A, 'START_TESTING');
    await fireSb(A, 'SUBMIT_REPORT', { period_start: iso(-DAY), period_end: iso(0), summary: 'Ünïcödé ok' });

    // A certification case: most of its events carry facts the engine looked up.
    await c.certify({ product: robot, scheme: 'robot-safety', lab });

    // A GenAI project with numbers in payloads, then a system event (null principal) from the scheduler.
    const genaiLab = await accreditedLab(ta, c);
    const api = projectApi(ta);
    const project = c.ok(await api.create(A, genaiApplication(ta.clock.now())), 201);
    for (const [token, type, payload] of [
      [A, 'SUBMIT'],
      [R, 'START_REVIEW'],
      [R, 'APPROVE', { evaluating_lab_id: genaiLab.org.id, comments: 'ok' }],
      [genaiLab.principal.token, 'POST_SAFETY_EVALUATION', { benchmark: 'CValues-Yue', metrics: { refusal_rate: 0.91, attack_success_rate: 0.125, n: 1e21 }, verdict: 'fail' }],
      [A, 'SUBMIT_MILESTONE', { milestone_id: 'm1', deliverables: ['Taxonomy'], report_sha256: SHA }],
    ] as Array<[string, string, unknown?]>)
      ok(await api.fire(token, project.id, type, payload));
    ta.clock.advance(70 * DAY);
    t.match(await sweepOnce(ta.app.engine), { failed: 0 });

    const storedRows = async (chainId: string) =>
      (
        await sql<StoredRow>`
        select chain_id, seq, case_id, kind, type, actor_principal_id, actor_role, from_state, to_state, payload, facts,
               to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at, prev_hash, hash
        from audit_events where chain_id = ${chainId} order by seq`.execute(ta.app.db)
      ).rows;

    /** Checks one chain's links and every hash; answers how many events it checked. */
    const checkChain = (t: { same(a: unknown, b: unknown, m: string): unknown }, name: string, events: Chain) => {
      const bad: string[] = [];
      let prev = GENESIS;
      events.forEach((e, i) => {
        if (e.seq !== i + 1) bad.push(`${name} #${i}: seq ${e.seq}`);
        if (e.prev_hash !== prev) bad.push(`${name} seq ${e.seq}: prev_hash is not the previous hash`);
        if (!/^[0-9a-f]{64}$/.test(e.hash)) bad.push(`${name} seq ${e.seq}: hash is not 64 lowercase hex digits`);
        if (specHash(e.prev_hash, e.body) !== e.hash) bad.push(`${name} seq ${e.seq} (${e.body.type}): hash is not sha256(prev_hash ‖ JCS(event))`);
        prev = e.hash;
      });
      t.same(bad, [], `${name}: ${events.length} events`);
      return events.length;
    };

    t.test('case chains, as GET /v1/:kind/:id/events shows them', async (t) => {
      const cases = await ta.app.db.selectFrom('cases').select(['id', 'kind', 'version']).orderBy('id').execute();
      t.same(new Set(cases.map((x) => x.kind)), new Set(['sandbox-cases', 'certification-cases', 'genai-projects']));
      let checked = 0;
      let withFacts = 0;
      const types = new Set<string>();
      for (const k of cases) {
        const items = ok(await ta.req({ method: 'GET', url: `/v1/${k.kind}/${k.id}/events`, token: R })).items as Array<
          Omit<Hashed, 'chain_id' | 'case_id' | 'kind' | 'facts'> & { prev_hash: string; hash: string }
        >;
        // The history does not show facts; they are hashed, so they come from the stored row.
        const stored = await storedRows(k.id);
        withFacts += stored.filter((r) => r.facts !== null).length;
        t.same(
          stored.map((r) => [r.seq, r.chain_id, r.case_id, r.kind, r.hash]),
          items.map((e) => [e.seq, k.id, k.id, k.kind, e.hash]),
          `${k.kind} ${k.id}: the history is the stored chain`,
        );
        t.equal(items.length, k.version, 'one event per version');
        const events = items.map((e, i) => {
          types.add(e.type);
          const body: Hashed = {
            chain_id: k.id,
            seq: e.seq,
            case_id: k.id,
            kind: k.kind,
            type: e.type,
            actor: { principal_id: e.actor.principal_id, role: e.actor.role },
            from_state: e.from_state,
            to_state: e.to_state,
            payload: e.payload,
            facts: stored[i]?.facts ?? null,
            at: e.at,
          };
          return { seq: e.seq, prev_hash: e.prev_hash, hash: e.hash, body };
        });
        checked += checkChain(t, `${k.kind} ${k.id}`, events);
      }
      for (const type of ['CASE_CREATED', 'REPLACE_APPLICATION', 'ADMIT', 'SUBMIT_REPORT', 'ASSIGN_LAB', 'POST_RESULTS', 'CERTIFY', 'POST_SAFETY_EVALUATION', 'MARK_MILESTONE_OVERDUE'])
        t.ok(types.has(type), `covers ${type}`);
      t.ok(checked >= 20, `${checked} case events recomputed`);
      t.ok(withFacts >= 4, `${withFacts} of them with facts`);
    });

    t.test('the registry chain (principals, organizations, products, accreditation), as stored', async (t) => {
      const rows = await storedRows('registry');
      const types = new Set(rows.map((r) => r.type));
      for (const type of ['ORGANIZATION_CREATED', 'PRINCIPAL_CREATED', 'PRINCIPAL_REVOKED', 'PRODUCT_CREATED', 'ACCREDITATION_SET']) t.ok(types.has(type), `covers ${type}`);
      const events: Chain = rows.map((r) => ({ seq: r.seq, prev_hash: r.prev_hash, hash: r.hash, body: bodyOfStored(r) }));
      t.ok(rows.every((r) => r.chain_id === 'registry' && r.case_id === null && r.from_state === null && r.to_state === null && r.facts === null));
      t.ok(checkChain(t, 'registry', events) >= 10);
    });

    t.test('the formula is the SPEC one and no near miss', async (t) => {
      // Pins the details a reimplementation could get wrong: prev_hash as hex text (not bytes),
      // prev_hash first, and the whole event (facts and chain_id included) hashed.
      const [first, second] = await storedRows('registry');
      const b = bodyOfStored(second!);
      t.equal(second!.prev_hash, first!.hash);
      t.equal(second!.hash, specHash(first!.hash, b));
      const json = canonicalize(b)!;
      const sha = (...parts: Array<string | Buffer>) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest('hex');
      t.not(second!.hash, sha(json), 'prev_hash is hashed');
      t.not(second!.hash, sha(Buffer.from(first!.hash, 'hex'), json), 'prev_hash as its hex text, not its bytes');
      t.not(second!.hash, sha(json, first!.hash), 'prev_hash before the event');
      const { chain_id: _c, facts: _f, ...withoutExtras } = b;
      t.not(second!.hash, sha(first!.hash, canonicalize(withoutExtras)!), 'chain_id and facts are hashed too');
    });
  });
});
