import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import SwaggerParser from '@apidevtools/swagger-parser';
import { buildTestApp, testDatabaseUrl } from '../helpers/app.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // The document, and what a client or an example does with it, are the same on either database: run once, in the PostgreSQL pass.
  if (!testDatabaseUrl()) {
    t.plan(0, 'skipped: runs in the PostgreSQL pass only (DATABASE_URL); the OpenAPI document does not depend on the database');
    process.exit(0);
  }

  const ta = await buildTestApp(t);
  const served = (await ta.req({ method: 'GET', url: '/documentation/json' })).json();
  const operations = Object.entries(served.paths as Record<string, Record<string, any>>).flatMap(([p, ops]) => Object.entries(ops).map(([m, op]) => ({ id: `${m.toUpperCase()} ${p}`, op })));

  t.test('the served document is OpenAPI 3.1 and valid for @apidevtools/swagger-parser', async (t) => {
    t.equal(served.openapi, '3.1.0');
    t.same(served.servers.map((s: { url: string }) => s.url), [ta.config.publicUrl], 'servers: PUBLIC_URL (SPEC §5)');
    const api = await SwaggerParser.validate(structuredClone(served));
    t.ok(api.paths, 'validated');
  });

  t.test('@redocly/cli lint with its recommended rules finds no error', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'openapi.json');
    fs.writeFileSync(file, JSON.stringify(served));
    // Offline and quiet: no telemetry, no update check; the built-in recommended rules (no config file).
    const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', CI: 'true', NO_COLOR: '1' };
    const bin = path.resolve('node_modules/.bin/redocly');
    const { stdout } = await promisify(execFile)(bin, ['lint', file, '--format=json'], { cwd: dir, env, timeout: 120_000 }).catch((e: { stdout?: string; stderr?: string }) => {
      if (!e.stdout) throw e;
      return { stdout: e.stdout };
    });
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }> };
    const errors = report.problems.filter((p) => p.severity === 'error');
    t.same(errors.map((e) => `${e.ruleId}: ${e.message} at ${e.location[0]?.pointer}`), [], 'no errors');
    // What is left: the input schemas' if/then branches name properties their parent declares.
    const warnings = report.problems.filter((p) => p.severity === 'warn');
    t.same([...new Set(warnings.map((w) => w.ruleId))], warnings.length ? ['no-required-schema-properties-undefined'] : [], 'only the if/then warnings remain');
    t.ok(warnings.every((w) => /\/(if|then|else|allOf)\b/.test(w.location[0]?.pointer ?? '')), 'each inside an if/then of an input schema');
  });

  t.test('every operation has an operationId, a summary, tags, security, a success answer with its body and the problems it can answer', async (t) => {
    t.ok(operations.length >= 42);
    const ids = new Set<string>();
    for (const { id, op } of operations) {
      t.ok(op.operationId && !ids.has(op.operationId), `${id}: unique operationId`);
      ids.add(op.operationId);
      t.ok(op.summary, `${id}: summary`);
      t.ok(op.tags?.length, `${id}: tags`);
      t.ok(Array.isArray(op.security), `${id}: security`);
      const who = String(op.description ?? '').match(/Roles: |Any authenticated principal|Public: no token needed/g) ?? [];
      t.equal(who.length, 1, `${id}: who may call it, said once`);
      const success = Object.keys(op.responses).filter((s) => s.startsWith('2'));
      t.equal(success.length, 1, `${id}: one success status`);
      if (success[0] !== '204') t.ok(op.responses[success[0]!].content, `${id}: success body`);
      t.notOk(Object.values(op.responses).some((r: any) => r.description === 'Default Response'), `${id}: no default response`);
      for (const [status, r] of Object.entries(op.responses as Record<string, any>)) {
        if (status.startsWith('4') || status.startsWith('5')) t.same(r.content, { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } }, `${id} ${status}: a Problem`);
      }
      if (op.security.length) t.ok(op.responses['401'], `${id}: 401`);
    }
    const op = (p: string, m: string) => served.paths[p][m];
    t.same(op('/v1/organizations', 'post').security, [{ bearer: [] }]);
    t.same(op('/v1/register/sandbox', 'get').security, []);
    t.equal(op('/v1/sandbox-cases/{id}/events', 'post').operationId, 'fireSandboxCaseEvent');
    t.equal(op('/v1/genai-projects', 'post').operationId, 'createGenaiProject');
    for (const p of ['/v1/organizations', '/v1/principals', '/v1/products', '/v1/sandbox-cases']) {
      t.ok(op(p, 'post').responses['201'].headers.location, `${p}: 201 with Location`);
      t.notOk(op(p, 'post').responses['200'], `${p}: no 200`);
    }
    const events = op('/v1/certification-cases/{id}/events', 'post');
    t.same(Object.keys(events.responses).sort(), ['200', '400', '401', '403', '404', '409', '412', '413', '415', '422', '429', '503']);
    t.ok(events.responses['503'].headers['retry-after']);
    t.ok(op('/v1/sandbox-cases/{id}', 'get').responses['200'].headers.etag);
    t.ok(served.components.schemas.Case.properties.lab_id, 'the case documents lab_id');
    const names = Object.keys(served.components.schemas);
    t.same(names.filter((n) => names.includes(n.replace('-', '_')) && n.includes('-')), [], 'no component twice (Text-short beside Text_short)');
  });

  t.test('every answer is a closed schema: no response component lets an unlisted field through', async (t) => {
    // The only open objects are those whose shape depends on the kind or the event, each said so.
    const allowedOpen = new Set(['Case.application', 'Case.record']);
    const isObject = (s: any) => [].concat(s?.type ?? []).includes('object' as never);
    const isOpen = (s: any) => isObject(s) && s.additionalProperties !== false && typeof s.additionalProperties !== 'object';
    const open: string[] = [];
    const visit = (s: any, at: string, depth: number): void => {
      if (!s || typeof s !== 'object' || depth > 6) return;
      if (isOpen(s)) open.push(at);
      for (const [k, sub] of Object.entries((s.properties ?? {}) as Record<string, any>)) visit(sub, `${at}.${k}`, depth + 1);
      if (s.items) visit(s.items, `${at}[]`, depth + 1);
      for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) visit(alt, at, depth + 1);
    };
    // Responses only: the input schemas (and the events and payloads built from them) are what callers send.
    const responses = Object.entries(served.components.schemas as Record<string, any>).filter(([name]) => !/Input$|Application$|Payload$|Event$|^Problem$|_/.test(name));
    t.ok(responses.length >= 20, `${responses.length} response schemas`);
    for (const [name, schema] of responses) visit(schema, name, 0);
    t.same(open.filter((s) => !allowedOpen.has(s)).sort(), [], 'closed');
    for (const name of ['Product', 'Scheme', 'Certificate', 'SandboxRegisterEntry', 'GenaiRegisterEntry', 'AuditReport', 'Health']) {
      t.equal(served.components.schemas[name].additionalProperties, false, `${name} is closed`);
    }
    t.same(Object.keys(served.components.schemas.Product.properties), ['id', 'organization_id', ...Object.keys(served.components.schemas.ProductInput.properties), 'created_at', 'updated_at'], 'a product answers ProductInput’s fields');
  });
});
