import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup } from 'xstate';
import { defineWorkflow, type WorkflowDeclaration } from '../../workflows/define.js';
import { l } from '../../workflows/kit.js';
import { sandboxWorkflow } from '../../workflows/sandbox.js';
import { testDatabaseUrl } from '../helpers/app.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // An event is declared once, beside its machine; every surface that names it (the events map, the
  // allowed events, the workflow docs and diagram, the OpenAPI event bodies, the labels of the pages,
  // the payload check) is derived from that declaration and its schema file. The expectations below
  // are written out by hand (SPEC's words), never read from the code they check.

  const root = fileURLToPath(new URL('../../', import.meta.url));

  /** A workflow of two states, whose machine and declarations a test varies. */
  function toy(over: { events?: WorkflowDeclaration['events']; draftLabel?: boolean; handles?: string[] } = {}, schemasRoot?: string) {
    const on = Object.fromEntries((over.handles ?? ['SUBMIT']).map((e) => [e, { target: 'submitted' }]));
    const machine = setup({}).createMachine({
      id: 'toy',
      initial: 'draft',
      states: {
        draft: { ...(over.draftLabel === false ? {} : { meta: { label: l('Draft', '草稿') } }), on },
        submitted: { type: 'final', meta: { label: l('Submitted', '已提交') } },
      },
    });
    return defineWorkflow(
      {
        kind: 'toy-cases',
        title: l('Toy', '玩具'),
        schemaDir: 'toy',
        numberPrefix: 'TOY',
        machine,
        events: over.events ?? { SUBMIT: { roles: ['applicant'], description: 'Submit.', label: l('Submit', '提交') } },
        rules: {},
        productOf: () => null,
        labOf: () => null,
        initialRecord: () => ({}),
      },
      { schemasRoot },
    );
  }

  t.test('defineWorkflow derives the catalogue and refuses what the machine and the declarations disagree on', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toy-schemas-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const bare = toy({}, dir);
    t.same(bare.events, { SUBMIT: { roles: ['applicant'], description: 'Submit.' } }, 'no schema file: no payload');
    t.same(bare.labels, { title: l('Toy', '玩具'), states: { draft: l('Draft', '草稿'), submitted: l('Submitted', '已提交') }, events: { SUBMIT: l('Submit', '提交') }, statusReasons: {} });
    t.equal(bare.title, 'Toy');

    fs.mkdirSync(path.join(dir, 'toy/events'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'toy/events/SUBMIT.json'), '{}');
    t.same(toy({}, dir).events.SUBMIT, { roles: ['applicant'], payload: true, description: 'Submit.' }, 'a schema file: a payload');

    t.throws(() => toy({ handles: ['SUBMIT', 'SNEAK'] }, dir), /the machine handles SNEAK, which is not declared/);
    const extra = { SUBMIT: { roles: ['applicant' as const], description: 'Submit.', label: l('Submit', '提交') }, IDLE: { roles: ['regulator' as const], description: 'Nothing.', label: l('Idle', '空闲') } };
    t.throws(() => toy({ events: extra }, dir), /IDLE is declared but no state handles it/);
    t.throws(() => toy({ draftLabel: false }, dir), /state draft has no label in every language/);
    t.throws(() => toy({ events: { SUBMIT: { roles: ['applicant'], description: 'Submit.', label: l('Submit', ' ') } } }, dir), /event SUBMIT has no label in every language/);
    fs.writeFileSync(path.join(dir, 'toy/events/GHOST.json'), '{}');
    t.throws(() => toy({}, dir), /schemas\/toy\/events\/GHOST.json is the payload of no declared event/);
  });

  t.test('the certification states that hold a certificate declare the status the register shows (SPEC §4b)', async (t) => {
    const { certificationWorkflow } = await import('../../workflows/certification.js');
    t.same(certificationWorkflow.certificateStatus, { certified: 'valid', suspended: 'suspended', revoked: 'revoked', expired: 'expired' });
  });

  // The event the copy gains: only its machine file and a schema file are written.
  const EVENT = 'RECORD_SUPERVISION_VISIT';
  const SCHEMA = {
    $id: `sandbox/events/${EVENT}.json`,
    title: 'SandboxRecordSupervisionVisitPayload',
    type: 'object',
    additionalProperties: false,
    required: ['findings'],
    properties: { findings: { type: 'string', minLength: 1, maxLength: 2000 } },
  };
  const DECLARATION = `  ${EVENT}: { roles: ['regulator'], description: 'Record an on-site supervision visit and its findings.', label: l('Record supervision visit', '记录现场监督检查') },\n`;

  /** The machine file with one more event: handled while testing, declared beside the others. */
  function withExtraEvent(source: string): string {
    const decl = 'const events = {\n';
    const testing = /(\n    testing: \{\n[\s\S]*?\n      on: \{\n)/;
    if (!source.includes(decl) || !testing.test(source)) throw new Error('workflows/sandbox.ts no longer has `const events = {` or a testing state with `on: {`: update this test');
    return source.replace(decl, decl + DECLARATION).replace(testing, `$1        ${EVENT}: {},\n`);
  }

  /** Runs in the copy: builds its app and reports what each surface says. */
  const PROBE = `
import { buildTestApp } from './test/helpers/app.js';
import { sandboxCast } from './test/sandbox/helpers.js';
import { sandboxWorkflow } from './workflows/sandbox.js';

const teardowns: Array<() => unknown> = [];
const ta = await buildTestApp({ teardown: (fn) => void teardowns.push(fn) });
try {
  const s = await sandboxCast(ta);
  const c = await s.caseIn('testing');
  const R = s.regulator.token;
  const A = s.applicant.token;
  const get = async (url: string, token?: string, headers = {}) => ta.req({ method: 'GET', url, token, headers });
  const allowed = async (token: string) => {
    const r = (await get('/v1/sandbox-cases/' + c.id + '/allowed-events', token)).json();
    return { ...r, events: [...r.events].sort() };
  };
  const doc = (await get('/documentation/json')).json();
  const body = doc.paths['/v1/sandbox-cases/{id}/events'].post.requestBody.content['application/json'].schema;
  const component = (ref: string) => doc.components.schemas[ref.split('/').pop()!];
  const alt = body.oneOf.map((a: any) => component(a.$ref)).find((a: any) => a.properties.type.enum[0] === '${EVENT}');
  const payloadRef = alt.properties.payload.$ref as string;
  const bad = await s.fire(c.id, R, '${EVENT}', {});
  const byApplicant = (await s.fire(c.id, A, '${EVENT}', { findings: 'x' })).statusCode;
  const fired = await s.fire(c.id, R, '${EVENT}', { findings: 'Logs kept as required' });
  const last = (await s.history(c.id)).at(-1);
  const out = {
    events: sandboxWorkflow.events,
    allowedRegulator: await allowed(R),
    allowedApplicant: await allowed(A),
    docs: (await get('/v1/workflows/sandbox-cases')).json(),
    mermaid: (await get('/v1/workflows/sandbox-cases?format=mermaid')).body,
    openapi: { title: alt.title, description: alt.description, required: alt.required, payloadTitle: component(payloadRef)?.title, mapped: component(body.discriminator.mapping['${EVENT}'])?.title },
    pageEn: (await get('/workflows?lang=en')).body,
    pageZh: (await get('/workflows?lang=zh-Hans')).body,
    badPayload: { status: bad.statusCode, errors: bad.json().errors },
    byApplicant,
    fired: { status: fired.statusCode, last: { type: last.type, from_state: last.from_state, to_state: last.to_state, payload: last.payload } },
  };
  process.stdout.write('\\n' + JSON.stringify(out) + '\\n');
} finally {
  for (const fn of teardowns.reverse()) await fn();
}
`;

  // The pages, docs and API are the same on either database: the copy runs once, in the PostgreSQL pass.
  const skip = testDatabaseUrl() ? false : 'runs in the PostgreSQL pass only (DATABASE_URL): what it checks does not depend on the database';

  t.test('a workflow given one more event in its machine file and a schema file shows it on every surface', { skip }, async (t) => {
    t.notOk(sandboxWorkflow.events[EVENT], 'the tree itself has no such event');
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'one-declaration-'));
    t.teardown(() => fs.rmSync(copy, { recursive: true, force: true }));
    for (const p of ['src', 'workflows', 'schemas', 'migrations', 'test/helpers', 'test/sandbox/helpers.ts', 'package.json', 'tsconfig.json']) {
      fs.cpSync(path.join(root, p), path.join(copy, p), { recursive: true });
    }
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'));
    // The two files an author writes; nothing else in the copy differs from the tree.
    const machineFile = path.join(copy, 'workflows/sandbox.ts');
    fs.writeFileSync(machineFile, withExtraEvent(fs.readFileSync(machineFile, 'utf8')));
    fs.writeFileSync(path.join(copy, `schemas/sandbox/events/${EVENT}.json`), JSON.stringify(SCHEMA, null, 2));
    fs.writeFileSync(path.join(copy, 'probe.ts'), PROBE);

    const run = spawnSync(process.execPath, ['--import', 'tsx', 'probe.ts'], { cwd: copy, encoding: 'utf8', env: process.env, timeout: 240_000 });
    if (run.status !== 0) return t.fail(`the probe failed (${run.status}): ${run.stderr.slice(-3000)}`);
    const seen = JSON.parse(run.stdout.trim().split('\n').at(-1)!);

    t.same(seen.events[EVENT], { roles: ['regulator'], payload: true, description: 'Record an on-site supervision visit and its findings.' }, 'the events map');
    t.same(seen.allowedRegulator.events, ['EXTEND', 'RECORD_SUPERVISION_VISIT', 'REPORT_INCIDENT', 'SUSPEND', 'TERMINATE'], 'allowed for the regulator while testing');
    t.same(seen.allowedApplicant.events, ['REPORT_INCIDENT', 'REQUEST_EXIT', 'SUBMIT_REPORT'], 'not for the applicant');
    t.same(
      seen.docs.events.find((e: { type: string }) => e.type === EVENT),
      { type: EVENT, roles: ['regulator'], description: 'Record an on-site supervision visit and its findings.', payload_schema: `sandbox/events/${EVENT}.json` },
      'GET /v1/workflows/sandbox-cases lists it',
    );
    t.same(seen.docs.transitions.filter((x: { event: string }) => x.event === EVENT), [{ from: 'testing', event: EVENT, to: 'testing', guard: null, roles: ['regulator'] }], 'with its one transition');
    t.match(seen.mermaid, `    testing --> testing: ${EVENT} (regulator)\n`, 'the Mermaid diagram draws it');
    t.same(seen.openapi, {
      title: 'SandboxCaseRecordSupervisionVisitEvent',
      description: 'Record an on-site supervision visit and its findings. Roles: regulator.',
      required: ['type', 'payload'],
      payloadTitle: 'SandboxRecordSupervisionVisitPayload',
      mapped: 'SandboxCaseRecordSupervisionVisitEvent',
    }, 'the OpenAPI event bodies include it, with its payload schema');
    t.match(seen.pageEn, `Record supervision visit <code>${EVENT}</code>`, 'the workflows page names it in English');
    t.match(seen.pageZh, `记录现场监督检查 <code>${EVENT}</code>`, 'and in Chinese');
    t.equal(seen.badPayload.status, 400, 'the engine checks its payload with the schema file');
    t.same(seen.badPayload.errors, [{ path: 'body/payload/findings', message: 'is required' }]);
    t.equal(seen.byApplicant, 403, 'an applicant may not fire it');
    t.equal(seen.fired.status, 200);
    t.same(seen.fired.last, { type: EVENT, from_state: 'testing', to_state: 'testing', payload: { findings: 'Logs kept as required' } }, 'recorded in the history');
  });
});
