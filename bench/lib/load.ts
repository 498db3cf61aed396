// Bulk loading in the real schema. Sandbox cases and their audit chains are computed in Node with
// the service's own machine (engine.step) and hash (audit.auditRow), so verification does real work
// and every chain and replay checks out, then COPYed in. Certificates are generated in SQL.
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { reportPayload } from './cast.js';
import { auditRow, GENESIS_HASH, type AuditEventBody } from '../../src/audit/audit.js';
import { deadlinesOf, initialSnapshot, step } from '../../src/engine/machine.js';
import { sandboxWorkflow } from '../../workflows/sandbox.js';
import type { CaseContext } from '../../workflows/kit.js';

const { from: copyFrom } = copyStreams;

/** COPY text format: backslash, tab, newline and carriage return escaped; null is \N. */
function field(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : String(v);
  return s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

export async function copyRows(client: pg.ClientBase, table: string, columns: string[], rows: Iterable<unknown[]>): Promise<void> {
  const stream = client.query(copyFrom(`copy ${table} (${columns.join(', ')}) from stdin`));
  async function* lines() {
    let buf = '';
    for (const r of rows) {
      buf += r.map(field).join('\t') + '\n';
      if (buf.length > 1 << 16) {
        yield buf;
        buf = '';
      }
    }
    if (buf) yield buf;
  }
  await pipeline(Readable.from(lines()), stream);
}

export type Cast = { organizationId: string; productId: string; applicantId: string; regulatorId: string };

export const SANDBOX_APPLICATION = (productId: string) => ({
  product_id: productId,
  scenarios: ['hospital triage', 'outpatient follow-up'],
  test_scope: { regions: ['Shenzhen', 'Guangzhou'], max_users: 500, duration_months: 12 },
  risks: [{ description: 'misdiagnosis of rare conditions', level: 'high' }],
  safeguards: ['clinician review of every recommendation'],
  contact: { name: 'Li Lei', email: 'li@example.cn' },
});

const CASE_COLUMNS = ['id', 'kind', 'number', 'state', 'version', 'organization_id', 'product_id', 'lab_id', 'application', 'record', 'deadlines', 'audit_seq', 'audit_hash', 'created_at', 'updated_at'];
const AUDIT_COLUMNS = ['chain_id', 'seq', 'case_id', 'kind', 'type', 'actor_principal_id', 'actor_role', 'from_state', 'to_state', 'payload', 'facts', 'at', 'prev_hash', 'hash'];
const DEADLINE_COLUMNS = ['case_id', 'name', 'event_type', 'due_at'];

/**
 * `count` sandbox cases of the cast's organization, driven through the real machine to `testing`
 * (5 audit events each, and `reports` monthly reports after them) or to `admitted` (4 events,
 * START_TESTING due at `startAt`).
 */
export async function loadSandboxCases(
  client: pg.ClientBase,
  cast: Cast,
  opts: { count: number; state: 'testing' | 'admitted'; firstNumber: number; startAt: Date; endAt: Date; createdAt: Date; id?: (i: number) => string; reports?: number },
): Promise<string[]> {
  const wf = sandboxWorkflow;
  const ids: string[] = [];
  const cases: unknown[][] = [];
  const audits: unknown[][] = [];
  const deadlines: unknown[][] = [];
  const application = SANDBOX_APPLICATION(cast.productId);
  const applicant = { principal_id: cast.applicantId, role: 'applicant' as const };
  const regulator = { principal_id: cast.regulatorId, role: 'regulator' as const };
  const system = { principal_id: null, role: 'system' as const };
  const t0 = opts.createdAt.getTime();
  const steps: Array<{ type: string; actor: typeof applicant | typeof regulator | typeof system; payload: unknown; at: string }> = [
    { type: 'SUBMIT', actor: applicant, payload: {}, at: new Date(t0 + 60_000).toISOString() },
    { type: 'START_REVIEW', actor: regulator, payload: {}, at: new Date(t0 + 120_000).toISOString() },
    {
      type: 'ADMIT',
      actor: regulator,
      payload: { conditions: ['weekly reports', 'no minors'], testing_period: { start: opts.startAt.toISOString(), end: opts.endAt.toISOString() } },
      at: new Date(t0 + 180_000).toISOString(),
    },
  ];
  if (opts.state === 'testing') {
    steps.push({ type: 'START_TESTING', actor: system, payload: {}, at: opts.startAt.toISOString() });
    for (let r = 0; r < (opts.reports ?? 0); r++) steps.push({ type: 'SUBMIT_REPORT', actor: applicant, payload: reportPayload(r, { start: opts.startAt, end: new Date(opts.startAt.getTime() + (r + 1) * 60_000) }), at: new Date(opts.startAt.getTime() + (r + 1) * 60_000).toISOString() });
  }

  const flush = async () => {
    await copyRows(client, 'cases', CASE_COLUMNS, cases);
    await copyRows(client, 'audit_events', AUDIT_COLUMNS, audits);
    await copyRows(client, 'deadlines', DEADLINE_COLUMNS, deadlines);
    cases.length = 0;
    audits.length = 0;
    deadlines.length = 0;
  };

  for (let i = 0; i < opts.count; i++) {
    const id = opts.id ? opts.id(i) : randomUUID();
    ids.push(id);
    const number = `SBX-2026-${String(opts.firstNumber + i).padStart(6, '0')}`;
    const context: CaseContext = { case_id: id, number, organization_id: cast.organizationId, application, record: wf.initialRecord() };
    let snap = initialSnapshot(wf, context);
    const created: AuditEventBody = {
      chain_id: id,
      seq: 1,
      case_id: id,
      kind: wf.kind,
      type: 'CASE_CREATED',
      actor: applicant,
      from_state: null,
      to_state: String(snap.value),
      payload: { number, organization_id: cast.organizationId, application },
      facts: null,
      at: new Date(t0).toISOString(),
    };
    let row = auditRow(created, GENESIS_HASH);
    audits.push(AUDIT_COLUMNS.map((c) => (row as Record<string, unknown>)[c]));
    let seq = 1;
    for (const s of steps) {
      seq++;
      const from = String(snap.value);
      const next = step(wf, snap, { type: s.type, payload: s.payload, actor: s.actor, at: s.at, seq, facts: null });
      if ('violation' in next) throw new Error(`loader: ${s.type} refused: ${next.violation.message}`);
      snap = next;
      row = auditRow({ chain_id: id, seq, case_id: id, kind: wf.kind, type: s.type, actor: s.actor, from_state: from, to_state: String(snap.value), payload: s.payload, facts: null, at: s.at }, row.hash);
      audits.push(AUDIT_COLUMNS.map((c) => (row as Record<string, unknown>)[c]));
    }
    const state = String(snap.value);
    const ctx = snap.context as CaseContext;
    const ds = deadlinesOf(wf, state, ctx);
    const map = Object.fromEntries(ds.map((d) => [d.name, new Date(d.at).toISOString()]));
    for (const d of ds) if (d.event) deadlines.push([id, d.name, d.event, new Date(d.at).toISOString()]);
    cases.push([
      id,
      wf.kind,
      number,
      state,
      seq,
      cast.organizationId,
      cast.productId,
      null,
      JSON.stringify(ctx.application),
      JSON.stringify(ctx.record),
      JSON.stringify(map),
      seq,
      row.hash,
      new Date(t0).toISOString(),
      steps.at(-1)!.at,
    ]);
    if (cases.length >= 5000) await flush();
  }
  await flush();
  await client.query(
    `insert into number_sequences (prefix, year, last) values ('SBX', 2026, $1)
     on conflict (prefix, year) do update set last = greatest(number_sequences.last, excluded.last)`,
    [opts.firstNumber + opts.count - 1],
  );
  return ids;
}

/**
 * `count` certificates with the holders, products, labs and certified cases behind them, in SQL
 * (generate_series). The triggers that keep the projection are bypassed for the load only; the
 * rows are what they would have written. The secondary indexes of the tables loaded here (the
 * register's search indexes among them) are built after the load, as a bulk load would, from the
 * definitions the migrations gave them; the tables are then vacuumed, as autovacuum soon would
 * after so many inserts, so that index-only scans need no visits to the heap.
 */
export async function loadCertificates(client: pg.ClientBase, count: number): Promise<void> {
  const holders = Math.max(100, Math.round(count / 50));
  const products = Math.max(200, Math.round(count / 10));
  const labs = 40;
  await client.query(`set maintenance_work_mem = '512MB'`);
  const { rows: deferred } = await client.query<{ name: string; definition: string }>(
    `select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as definition
       from pg_index i
      where i.indrelid in ('organizations'::regclass, 'products'::regclass, 'certificates'::regclass)
        and not i.indisunique`,
  );
  for (const index of deferred) await client.query(`drop index ${index.name}`);
  await client.query(`set session_replication_role = replica`);
  const cities = ['广州', '深圳', '珠海', '佛山', '东莞', '中山', '惠州', '江门', '肇庆', '汕头', '香港', '澳门'];
  const trades = ['智能', '机器人', '智造', '数据', '视觉', '医疗科技', '自动驾驶', '语音', '芯片', '云计算', '教育科技', '物流'];
  const en = ['Pearl', 'Bay', 'Lingnan', 'Canton', 'Delta', 'Harbour', 'Nanyue', 'Qianhai', 'Nansha', 'Hengqin', 'Songshan', 'Baiyun'];
  const kinds = ['Vision', 'Robot', 'Guard', 'Assist', 'Drive', 'Care', 'Sense', 'Tutor', 'Arm', 'Chat', 'Scan', 'Pilot'];
  await client.query(
    `insert into organizations (id, name, name_en, kind, region, credit_code, contact_email)
     select gen_random_uuid(),
            ($2::text[])[1 + g % 12] || ($3::text[])[1 + (g / 12) % 12] || '科技有限公司' || g,
            ($4::text[])[1 + g % 12] || ' ' || ($5::text[])[1 + (g / 7) % 12] || ' Technology Co ' || g,
            'enterprise', 'guangdong', null, 'contact' || g || '@example.cn'
       from generate_series(1, $1) g`,
    [holders, cities, trades, en, kinds],
  );
  await client.query(
    `insert into organizations (id, name, name_en, kind, region, contact_email, accreditation)
     select gen_random_uuid(), '广东省人工智能检测实验室' || g, 'Guangdong AI Testing Lab ' || g, 'lab', 'guangdong', 'lab' || g || '@example.cn',
            jsonb_build_object('accreditation_number', 'CNAS-L' || g, 'schemes', '["ai-safety-risk","ai-ethics","robot-safety","genai-security"]'::jsonb,
                               'valid_until', '2030-01-01T00:00:00.000Z', 'set_at', '2026-01-01T00:00:00.000Z', 'set_by', 'bench')
       from generate_series(1, $1) g`,
    [labs],
  );
  await client.query(`create temp table h as select row_number() over (order by id) as n, id, name, name_en from organizations where kind = 'enterprise'`);
  await client.query(`create temp table l as select row_number() over (order by id) as n, id, name from organizations where kind = 'lab'`);
  await client.query(
    `insert into products (id, organization_id, name, version, kind, risk_level, body)
     select gen_random_uuid(), h.id, ($3::text[])[1 + g % 12] || ' ' || ($4::text[])[1 + (g / 12) % 12] || ' ' || g, (1 + g % 5) || '.' || (g % 10),
            case g % 3 when 0 then 'ai_system' when 1 then 'robot' else 'embodied_ai' end, 'medium', '{}'::jsonb
       from generate_series(1, $1) g join h on h.n = 1 + g % $2`,
    [products, holders, en, kinds],
  );
  await client.query(`create temp table p as select row_number() over (order by id) as n, id, organization_id, name, version from products`);
  await client.query(`create index on p (n)`);
  await client.query(`analyze p`);
  // Certified cases, then their certificates, in the same order of issue.
  await client.query(
    `insert into cases (id, kind, number, state, version, organization_id, product_id, lab_id, application, record, deadlines, audit_seq, audit_hash, created_at, updated_at)
     select gen_random_uuid(), 'certification-cases', 'CERT-' || (2024 + (g - 1) / 400000) || '-' || lpad((1 + (g - 1) % 400000)::text, 6, '0'), 'certified', 7, p.organization_id, p.id, l.id,
            jsonb_build_object('product_id', p.id, 'scheme', (array['ai-safety-risk','ai-ethics','robot-safety','genai-security'])[1 + g % 4], 'declared_scope', 'bench'),
            jsonb_build_object('certificate', jsonb_build_object('number', 'GDAIC-' || (2024 + (g - 1) / 400000) || '-' || lpad((1 + (g - 1) % 400000)::text, 6, '0'),
                               'issued_at', to_char(timestamptz '2024-01-01' + g * interval '60 seconds', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                               'valid_until', to_char(timestamptz '2024-01-01' + g * interval '60 seconds' + interval '3 years', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))),
            '{}'::jsonb, 7, repeat('0', 64), timestamptz '2024-01-01' + g * interval '60 seconds', timestamptz '2024-01-01' + g * interval '60 seconds'
       from generate_series(1, $1) g
       join p on p.n = 1 + (g::bigint * 7919) % $2
       join l on l.n = 1 + g % $3`,
    [count, products, labs],
  );
  await client.query(
    `insert into certificates (number, case_id, state, status, scheme, holder_id, holder_name, holder_name_en, product_id, product_name, product_version,
                               lab_id, lab_name, issued_at, valid_until)
     select c.record -> 'certificate' ->> 'number', c.id, 'certified',
            case when (c.record -> 'certificate' ->> 'valid_until')::timestamptz <= now() then 'expired' else 'valid' end,
            c.application ->> 'scheme', o.id, o.name, o.name_en, pr.id, pr.name, pr.version, lab.id, lab.name,
            (c.record -> 'certificate' ->> 'issued_at')::timestamptz, (c.record -> 'certificate' ->> 'valid_until')::timestamptz
       from cases c
       join organizations o on o.id = c.organization_id
       join products pr on pr.id = c.product_id
       join organizations lab on lab.id = c.lab_id
      where c.kind = 'certification-cases'`,
  );
  await client.query(`set session_replication_role = origin`);
  for (const index of deferred) await client.query(index.definition);
  await client.query(
    `insert into number_sequences (prefix, year, last)
     select prefix, split_part(number, '-', 2)::int, max(split_part(number, '-', 3)::int)
       from (select 'CERT' as prefix, number from cases where kind = 'certification-cases' union all select 'GDAIC', number from certificates) x
      group by 1, 2
     on conflict (prefix, year) do update set last = greatest(number_sequences.last, excluded.last)`,
  );
  await client.query(`vacuum (analyze) organizations, products, certificates`);
  await client.query(`analyze`);
}
