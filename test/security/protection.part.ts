import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { sql } from '../../src/db/kysely.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { hashToken, principalForToken } from '../../src/registry/principals.js';
import { loadSchemaFiles, type JsonSchema } from '../../src/schemas.js';
import { TestClock, fixtures, makeCreditCode, openTestDatabase, testSigningKeyFile, type TestApp } from '../helpers/app.js';
import { assertProblem } from '../foundation/support.js';
import { sandboxApplication } from '../sandbox/helpers.js';
import { application as genaiApplication } from '../genai/helpers.js';
import { diffFingerprints, fingerprint, tables } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // Every app of this file logs at trace level into `logLines`; the last test reads all of it.
  const logLines: string[] = [];
  const secrets = new Set<string>();
  const remember = <T extends string>(token: T): T => (secrets.add(token), token);

  type Tap = { teardown(fn: () => unknown): void };
  async function loggedApp(t: Tap, env: Record<string, string> = {}): Promise<TestApp> {
    const adminToken = remember(`admin_${randomBytes(24).toString('hex')}`);
    const config = loadConfig({ ADMIN_TOKEN: adminToken, LOG_LEVEL: 'trace', SCHEDULER_INTERVAL_MS: '0', RATE_LIMIT_MAX: '1000000', SIGNING_KEY_FILE: testSigningKeyFile(), SEQUENCER_INTERVAL_MS: '0', ...env });
    const database = await openTestDatabase();
    const clock = new TestClock();
    const app = await buildApp({
      config,
      database,
      now: clock.now,
      logger: createLogger(config, { write: (s: string) => void logLines.push(s) }),
    });
    t.teardown(async () => {
      await app.close();
      await database.close();
    });
    return {
      app,
      database,
      clock,
      adminToken,
      config,
      req: async ({ token, ...o }) => {
        const headers = { ...(o.headers ?? {}) } as Record<string, string>;
        if (token) headers.authorization = `Bearer ${token}`;
        return (await app.inject({ ...o, headers })) as never;
      },
    };
  }

  const from = (ip: string) => ({ remoteAddress: ip }) as Record<string, unknown>;

  t.test('rate limiting: per token and per IP, 429 problem with Retry-After', async (t) => {
    const MAX = 5;
    const ta = await loggedApp(t, { RATE_LIMIT_MAX: String(MAX), RATE_LIMIT_WINDOW_MS: '60000' });
    // The cast is made by the admin, whose token then has spent part of its own budget only.
    const org = (
      await ta.req({
        method: 'POST',
        url: '/v1/organizations',
        token: ta.adminToken,
        payload: {
          name: 'Limits Ltd',
          kind: 'enterprise',
          region: 'guangdong',
          credit_code: makeCreditCode(),
          contact_email: 'l@example.cn',
        },
      })
    ).json();
    const make = async () =>
      remember(
        (
          await ta.req({
            method: 'POST',
            url: '/v1/principals',
            token: ta.adminToken,
            payload: { role: 'applicant', organization_id: org.id },
          })
        ).json().token as string,
      );
    const a = await make();
    const b = await make();
    const c = await make();
    const ask = (token: string | undefined, ip = '10.0.0.1', url = '/v1/me') => ta.req({ method: 'GET', url, token, ...from(ip) } as never);

    await t.test(
      'one token exhausting its budget gets 429 rate_limited with Retry-After; another token from the same IP does not',
      async (t) => {
        const statuses: number[] = [];
        for (let i = 0; i < MAX; i++) statuses.push((await ask(a)).statusCode);
        t.same(statuses, Array(MAX).fill(200), `the first ${MAX} pass`);
        const limited = await ask(a);
        assertProblem(t, limited, 429, 'rate_limited');
        const retry = Number(limited.headers['retry-after']);
        t.ok(Number.isInteger(retry) && retry > 0 && retry <= 60, `Retry-After is a number of seconds (${limited.headers['retry-after']})`);
        t.equal(limited.headers['x-ratelimit-limit'], String(MAX));
        t.equal(limited.headers['x-ratelimit-remaining'], '0');
        t.equal((await ask(a, '10.9.9.9')).statusCode, 429, 'the budget follows the token, not the address');
        t.equal((await ask(b)).statusCode, 200, 'another token from the same IP is served');
      },
    );

    await t.test('a limited request stores nothing', async (t) => {
      const before = await fingerprint(ta.database.db);
      const r = await ta.req({
        method: 'POST',
        url: '/v1/products',
        token: a,
        payload: { name: 'p', version: '1', kind: 'ai_system', description: 'd', intended_use: 'u', domains: ['other'], risk_level: 'low' },
      });
      assertProblem(t, r, 429, 'rate_limited');
      t.same(diffFingerprints(before, await fingerprint(ta.database.db)), [], 'nothing changed');
    });

    await t.test('requests without a token are limited per IP, whatever the route', async (t) => {
      const statuses: number[] = [];
      const urls = ['/v1/schemes', '/v1/register/sandbox', '/v1/me', '/no/such/route', '/health/live', '/v1/workflows'];
      for (const url of urls) statuses.push((await ask(undefined, '10.0.0.2', url)).statusCode);
      t.same(
        statuses,
        [200, 200, 401, 404, 200, 200],
        'public, protected or unknown routes alike count; the health check does not',
      );
      assertProblem(t, await ask(undefined, '10.0.0.2', '/no/such/route'), 429, 'rate_limited');
      t.equal((await ask(undefined, '10.0.0.3', '/v1/schemes')).statusCode, 200, 'another IP is served');
      t.equal((await ask(c, '10.0.0.2')).statusCode, 200, 'a valid token from the limited IP has its own budget');
    });

    await t.test('guessing tokens is limited per IP: unknown tokens count against the address', async (t) => {
      const statuses: number[] = [];
      for (let i = 0; i < MAX + 3; i++)
        statuses.push((await ask(remember(`gdai_${randomBytes(32).toString('base64url')}`), '10.0.0.4')).statusCode);
      t.same(statuses, [...Array(MAX).fill(401), 429, 429, 429], 'a fresh random token each time does not escape the limit');
      const malformed = await ta.req({
        method: 'GET',
        url: '/v1/me',
        headers: { authorization: remember(`Basic ${randomBytes(12).toString('hex')}`) },
        ...from('10.0.0.4'),
      } as never);
      assertProblem(t, malformed, 429, 'rate_limited');
      t.equal((await ask(c, '10.0.0.4')).statusCode, 200, 'the valid token from that IP is still served');
    });
  });

  t.test('health checks are never rate-limited, and do not spend the budget', async (t) => {
    const ta = await loggedApp(t, { RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_MS: '60000' });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      for (const url of ['/health/live', '/health/ready']) statuses.push((await ta.req({ method: 'GET', url, ...from('10.2.0.1') } as never)).statusCode);
    }
    t.same(statuses, Array(20).fill(200), 'a load balancer polling from one address is always answered');
    const after = [(await ta.req({ method: 'GET', url: '/v1/schemes', ...from('10.2.0.1') } as never)).statusCode];
    after.push((await ta.req({ method: 'GET', url: '/v1/schemes', ...from('10.2.0.1') } as never)).statusCode);
    t.same(after, [200, 200], 'the address still has its whole budget');
    const polled = await ta.req({ method: 'GET', url: '/health/ready', ...from('10.2.0.1') } as never);
    t.equal(polled.statusCode, 200, 'and health is answered once the budget is spent');
  });

  t.test('the 429 states the window; Retry-After the time left', async (t) => {
    const ta = await loggedApp(t, { RATE_LIMIT_MAX: '1', RATE_LIMIT_WINDOW_MS: '60000' });
    const ask = () => ta.req({ method: 'GET', url: '/v1/schemes', ...from('10.3.0.1') } as never);
    t.equal((await ask()).statusCode, 200);
    // Long enough into the window that the time left (59 s) is not the window (60 s).
    await new Promise((r) => setTimeout(r, 1200));
    const limited = await ask();
    const p = assertProblem(t, limited, 429, 'rate_limited');
    t.match(p.detail, /\b1 requests? per 60 seconds\b/, `the window: ${p.detail}`);
    const left = Number(limited.headers['retry-after']);
    t.ok(left >= 50 && left <= 59, `Retry-After: the seconds left in the window (${left})`);
  });

  t.test('the limit resets after its window', async (t) => {
    const ta = await loggedApp(t, { RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_MS: '1000' });
    const ask = () => ta.req({ method: 'GET', url: '/v1/schemes', ...from('10.1.0.1') } as never);
    t.same([(await ask()).statusCode, (await ask()).statusCode, (await ask()).statusCode], [200, 200, 429]);
    await new Promise((r) => setTimeout(r, 1100));
    t.equal((await ask()).statusCode, 200, 'served again once Retry-After has passed');
  });

  const ta = await loggedApp(t);
  const f = await fixtures(ta);
  remember(f.regulator.token);
  remember(f.applicant.token);
  remember(f.otherApplicant.token);
  const product = await f.product(f.applicant.token);

  t.test('security headers are on every answer: success, problem, not found, HTML documentation', async (t) => {
    const answers = {
      'a JSON success': await ta.req({ method: 'GET', url: '/v1/schemes' }),
      'a 401 problem': await ta.req({ method: 'GET', url: '/v1/me' }),
      'a 404 for no route': await ta.req({ method: 'GET', url: '/nowhere' }),
      'a 400 problem': await ta.req({ method: 'GET', url: '/v1/products?limit=x', token: f.applicant.token }),
      'the documentation page': await ta.req({ method: 'GET', url: '/documentation/' }),
      'an event answer': await ta.req({ method: 'GET', url: '/v1/sandbox-cases', token: f.applicant.token }),
    };
    for (const [what, r] of Object.entries(answers)) {
      const h = r.headers;
      const csp = String(h['content-security-policy'] ?? '');
      t.match(csp, /default-src 'self'/, `${what}: Content-Security-Policy default-src 'self'`);
      t.match(csp, /frame-ancestors 'self'/, `${what}: CSP frame-ancestors`);
      t.match(csp, /object-src 'none'/, `${what}: CSP object-src 'none'`);
      t.notMatch(csp, /script-src[^;]*'unsafe-inline'/, `${what}: no inline scripts allowed`);
      t.equal(h['x-content-type-options'], 'nosniff', `${what}: X-Content-Type-Options`);
      t.match(String(h['x-frame-options']), /^(SAMEORIGIN|DENY)$/, `${what}: X-Frame-Options`);
      // HSTS only over TLS: test/pages/plain-http.part.ts.
      t.equal(h['strict-transport-security'], undefined, `${what}: no Strict-Transport-Security over plain HTTP`);
      t.equal(h['referrer-policy'], 'no-referrer', `${what}: Referrer-Policy`);
      t.equal(h['x-powered-by'], undefined, `${what}: no X-Powered-By`);
      t.equal(h.server, undefined, `${what}: no Server banner`);
    }
  });

  t.test('body limit: a body over 1 MiB is a 413 problem and stores nothing', async (t) => {
    t.equal(ta.config.bodyLimit, 1024 * 1024, 'the default limit');
    const before = await fingerprint(ta.database.db);
    const big = { ...sandboxApplication(product.id), safeguards: ['x'.repeat(1024 * 1024)] };
    const r = await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: f.applicant.token, payload: big });
    assertProblem(t, r, 413, 'payload_too_large');
    const streamed = await ta.req({
      method: 'POST',
      url: '/v1/products',
      token: f.applicant.token,
      headers: { 'content-type': 'application/json' },
      payload: Readable.from([Buffer.from('{"name":"'), Buffer.alloc(1024 * 1024, 'a'), Buffer.from('"}')]) as never,
    });
    assertProblem(t, streamed, 413, 'payload_too_large');
    const lying = await ta.req({
      method: 'POST',
      url: '/v1/products',
      token: f.applicant.token,
      headers: { 'content-type': 'application/json', 'content-length': '10' },
      payload: JSON.stringify({ name: 'x'.repeat(100) }),
    });
    t.ok(lying.statusCode === 400 || lying.statusCode === 413, `a Content-Length that lies is refused (${lying.statusCode})`);
    t.equal(
      (await ta.req({ method: 'POST', url: '/v1/sandbox-cases', payload: big })).statusCode,
      401,
      'a stranger is told 401 before the body is read',
    );
    t.same(diffFingerprints(before, await fingerprint(ta.database.db)), [], 'nothing stored');
  });

  t.test("a malformed URL or an over-long path parameter is a 400 problem, not Fastify's own JSON", async (t) => {
    for (const url of [
      '/v1/sandbox-cases/%zz',
      '/v1/sandbox-cases/%E0%A4%A',
      `/v1/products/%`,
      `/v1/sandbox-cases/${'x'.repeat(300)}/events`,
      `/v1/schemes/${'a'.repeat(250)}`,
    ]) {
      const r = await ta.req({ method: 'GET', url, token: f.regulator.token });
      assertProblem(t, r, 400, 'validation_failed', 'path');
      t.ok(r.headers['x-request-id'], `${url.slice(0, 40)}: the answer carries its request id`);
    }
  });

  t.test('a body that is not UTF-8 is refused, not stored with replacement characters', async (t) => {
    const before = await fingerprint(ta.database.db);
    const body = (bytes: number[]) =>
      Buffer.concat([
        Buffer.from('{"name":"a'),
        Buffer.from(bytes),
        Buffer.from('b","version":"1","kind":"ai_system","description":"d","intended_use":"u","domains":["other"],"risk_level":"low"}'),
      ]);
    for (const bytes of [[0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]]) {
      const r = await ta.req({
        method: 'POST',
        url: '/v1/products',
        token: f.applicant.token,
        payload: body(bytes),
        headers: { 'content-type': 'application/json' },
      });
      assertProblem(t, r, 400, 'validation_failed', 'body');
    }
    for (const charset of ['utf-16', 'latin1', 'iso-8859-1', '"windows-1252"']) {
      const r = await ta.req({
        method: 'POST',
        url: '/v1/products',
        token: f.applicant.token,
        payload: body([0x41]),
        headers: { 'content-type': `application/json; charset=${charset}` },
      });
      assertProblem(t, r, 415, 'unsupported_media_type');
    }
    t.same(diffFingerprints(before, await fingerprint(ta.database.db)), [], 'nothing stored');
    const ok = await ta.req({
      method: 'POST',
      url: '/v1/products',
      token: f.applicant.token,
      payload: body([0xe6, 0x97, 0xa5]),
      headers: { 'content-type': 'application/json; charset=UTF-8' },
    });
    t.equal(ok.statusCode, 201, 'valid UTF-8 with charset=UTF-8 is served');
    t.equal(ok.json().name, 'a日b');
  });

  // ---- string and array limits --------------------------------------------------------------------

  /** Every string a schema accepts has a maximum length and every array a maximum size. */
  function unbounded(files: JsonSchema[]): string[] {
    const out: string[] = [];
    const boundedPattern = (p: string) => p.startsWith('^') && p.endsWith('$') && !/(?<!\\)[*+]|\{\d+,\}/.test(p);
    const walk = (s: unknown, where: string) => {
      if (!s || typeof s !== 'object') return;
      const o = s as Record<string, unknown>;
      const types = ([] as unknown[]).concat(o.type ?? []);
      if (
        types.includes('string') &&
        o.maxLength === undefined &&
        !o.enum &&
        o.const === undefined &&
        o.format !== 'uuid' &&
        !(typeof o.pattern === 'string' && boundedPattern(o.pattern))
      )
        out.push(`${where}: a string without maxLength`);
      // uniqueItems over an enum is bounded by the enum.
      const enumSet = o.uniqueItems === true && Array.isArray((o.items as { enum?: unknown[] } | undefined)?.enum);
      if (types.includes('array') && o.maxItems === undefined && !enumSet) out.push(`${where}: an array without maxItems`);
      if (o.additionalProperties && typeof o.additionalProperties === 'object' && o.maxProperties === undefined)
        out.push(`${where}: a map without maxProperties`);
      for (const [k, v] of Object.entries(o)) {
        if (k === 'enum' || k === 'const' || k === 'examples') continue;
        if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}/${k}/${i}`));
        else walk(v, `${where}/${k}`);
      }
    };
    for (const f of files) walk(f, f.$id!);
    return out;
  }

  t.test('every string in every schema has a maximum length, every array a maximum size', async (t) => {
    // problem.json describes answers, not input.
    t.same(unbounded(loadSchemaFiles().filter((f) => f.$id !== 'common/problem.json')), [], 'schema files');
    // Query strings, path parameters and bodies declared inline by the routes, as the OpenAPI document lists them.
    const doc = ta.app.swagger() as {
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: Array<{ name: string; in: string; schema: unknown }>;
            requestBody?: { content: Record<string, { schema: unknown }> };
          }
        >
      >;
    };
    const inline: JsonSchema[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const p of op.parameters ?? [])
          inline.push({ $id: `${method.toUpperCase()} ${path} ${p.in} ${p.name}`, ...(p.schema as object) });
        for (const c of Object.values(op.requestBody?.content ?? {}))
          inline.push({ $id: `${method.toUpperCase()} ${path} body`, ...(c.schema as object) });
      }
    }
    t.ok(inline.length > 50, `${inline.length} inline parameter and body schemas`);
    t.same(unbounded(inline), [], 'route parameters and bodies');
    t.same(
      unbounded([{ $id: 'probe', type: 'object', properties: { a: { type: 'string' }, b: { type: 'array' } } }]),
      ['probe/properties/a: a string without maxLength', 'probe/properties/b: an array without maxItems'],
      'the check itself finds an unbounded field',
    );
  });

  /** Each string leaf of a valid value made huge, and each array made long: [path, mutated value]. */
  function hugeVariants(value: unknown): Array<[string, unknown]> {
    const out: Array<[string, unknown]> = [];
    const visit = (v: unknown, path: string[], set: (x: unknown) => unknown) => {
      if (typeof v === 'string') out.push([path.join('/'), set('x'.repeat(100_001))]);
      else if (Array.isArray(v)) {
        if (v.length) out.push([path.join('/'), set(Array.from({ length: 1_001 }, () => v[0]))]);
        v.forEach((x, i) => visit(x, [...path, String(i)], (y) => set(v.map((z, j) => (j === i ? y : z)))));
      } else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) visit(x, [...path, k], (y) => set({ ...(v as object), [k]: y }));
      }
    };
    visit(value, [], (x) => x);
    return out;
  }

  t.test('huge strings and long arrays are refused with a 400 naming the field', async (t) => {
    const lab = await f.org({ kind: 'lab' });
    const bodies: Array<[string, string, string, unknown]> = [
      [
        'POST',
        '/v1/organizations',
        ta.adminToken,
        {
          name: 'Org',
          name_en: 'Org',
          kind: 'enterprise',
          region: 'guangdong',
          credit_code: makeCreditCode(),
          contact_email: 'o@example.cn',
        },
      ],
      ['POST', '/v1/principals', ta.adminToken, { role: 'regulator', name: 'n' }],
      [
        'PUT',
        `/v1/organizations/${lab.id}/accreditation`,
        f.regulator.token,
        { accreditation_number: 'CNAS L1', schemes: ['robot-safety'], valid_until: '2031-01-01T00:00:00Z' },
      ],
      [
        'POST',
        '/v1/products',
        f.applicant.token,
        {
          name: 'p',
          version: '1',
          kind: 'robot',
          description: 'd',
          intended_use: 'u',
          domains: ['industry'],
          risk_level: 'low',
          robot: { payload_kg: 1, max_speed_mps: 1, operating_environment: 'e', human_collaboration: false },
          genai: { foundation_model: 'm', filing_number: 'F1' },
        },
      ],
      ['POST', '/v1/sandbox-cases', f.applicant.token, { ...sandboxApplication(product.id), requested_exemptions: ['e'] }],
      [
        'POST',
        '/v1/certification-cases',
        f.applicant.token,
        { product_id: product.id, scheme: 'robot-safety', standards: ['ISO 10218-1:2025'], declared_scope: 's' },
      ],
      ['POST', '/v1/genai-projects', f.applicant.token, genaiApplication()],
    ];
    const before = await fingerprint(ta.database.db);
    let checked = 0;
    for (const [method, url, token, valid] of bodies) {
      for (const [path, body] of hugeVariants(valid)) {
        const r = await ta.req({ method: method as never, url, token, payload: body as never });
        const problem = assertProblem(t, r, 400, 'validation_failed');
        t.ok(
          problem.errors?.some((e) => e.path === `body/${path}` || e.path.startsWith(`body/${path}/`)),
          `${method} ${url}: ${path} is named (${JSON.stringify(problem.errors?.slice(0, 2))})`,
        );
        checked++;
      }
    }
    t.ok(checked >= 60, `${checked} huge fields refused, each under the body limit`);
    t.same(diffFingerprints(before, await fingerprint(ta.database.db)), [], 'nothing stored');

    // Event payloads are judged by the engine with the same validator: each huge field of each payload is named.
    const payloads: Array<[string, unknown]> = [
      ['sandbox/events/ADMIT.json', { conditions: ['c'], testing_period: { start: '2030-01-01T00:00:00Z', end: '2030-06-01T00:00:00Z' } }],
      ['sandbox/events/REQUEST_INFO.json', { questions: ['q'], respond_by: '2030-01-01T00:00:00Z' }],
      [
        'sandbox/events/SUBMIT_REPORT.json',
        { period_start: '2030-01-01T00:00:00Z', period_end: '2030-02-01T00:00:00Z', summary: 's', metrics: { a: 1 } },
      ],
      ['sandbox/events/SUBMIT_EXIT_REPORT.json', { outcomes: 'o', lessons: 'l', compliance_statement: 'c' }],
      [
        'certification/events/POST_RESULTS.json',
        {
          results: [{ criterion_id: 'c1', verdict: 'pass', notes: 'n', evidence_sha256: 'a'.repeat(64) }],
          summary: 's',
          report_sha256: 'a'.repeat(64),
          tested_at: '2030-01-01T00:00:00Z',
        },
      ],
      ['certification/events/REVOKE.json', { reason: 'r' }],
      ['genai/events/SUBMIT_MILESTONE.json', { milestone_id: 'm1', deliverables: ['d'], report_sha256: 'a'.repeat(64) }],
      ['genai/events/POST_SAFETY_EVALUATION.json', { benchmark: 'b', metrics: { a: 1 }, verdict: 'pass' }],
    ];
    for (const [id, valid] of payloads) {
      t.same(ta.app.schemas.check(id, valid, 'body/payload'), [], `${id}: the base payload is valid`);
      for (const [path, payload] of hugeVariants(valid)) {
        const errors = ta.app.schemas.check(id, payload, 'body/payload');
        t.ok(
          errors.some((e) => e.path === `body/payload/${path}` || e.path.startsWith(`body/payload/${path}/`)),
          `${id}: huge ${path} is refused and named`,
        );
      }
    }
  });

  // ---- tokens -------------------------------------------------------------------------------------

  t.test('a token is found by its hash and compared in constant time; anything but the exact token fails', async (t) => {
    const db = ta.database.db;
    const token = f.applicant.token as string;
    const found = await principalForToken(db, token);
    t.match(found, { id: f.applicant.id, role: 'applicant', organization_id: f.applicantOrg.id });
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const near = [
      flip(token, 0),
      flip(token, Math.floor(token.length / 2)),
      flip(token, token.length - 1),
      token.slice(0, -1),
      `${token}A`,
      token.toUpperCase(),
      ` ${token}`,
      hashToken(token),
      '',
      'x'.repeat(10_000),
    ];
    for (const guess of near)
      t.equal(await principalForToken(db, guess), null, `${JSON.stringify(guess.slice(0, 12))}… (${guess.length} chars) is not the token`);

    // Lookup is by hash alone: a row holding only the hash of a token is found by that token.
    const planted = `gdai_${randomBytes(32).toString('base64url')}`;
    remember(planted);
    await sql`insert into principals (role, token_hash) values ('regulator', ${hashToken(planted)})`.execute(db);
    t.match(await principalForToken(db, planted), { role: 'regulator' }, 'the stored hash is all it takes');
    await sql`update principals set revoked_at = now() where token_hash = ${hashToken(planted)}`.execute(db);
    t.equal(await principalForToken(db, planted), null, 'a revoked token is refused');

    const source = fs.readFileSync(new URL('../../src/registry/principals.ts', import.meta.url), 'utf8');
    const fn = source.slice(
      source.indexOf('export async function principalForToken'),
      source.indexOf('\n}\n', source.indexOf('export async function principalForToken')),
    );
    t.match(fn, /timingSafeEqual\(/, 'the stored and computed hashes are compared with crypto.timingSafeEqual');
    t.notMatch(fn, /token\s*===|===\s*token|token_hash\s*===/, 'never with ===');
  });

  t.test('tokens are stored only as hashes: no table holds a token in clear', async (t) => {
    const key = `k-${randomBytes(6).toString('hex')}`;
    const created = await ta.req({
      method: 'POST',
      url: '/v1/principals',
      token: ta.adminToken,
      headers: { 'idempotency-key': key },
      payload: { role: 'regulator', name: 'hashed' },
    });
    t.equal(created.statusCode, 201);
    const token = remember(created.json().token as string);
    t.ok(token.length >= 43, 'the token carries at least 32 random bytes');
    const replay = await ta.req({
      method: 'POST',
      url: '/v1/principals',
      token: ta.adminToken,
      headers: { 'idempotency-key': key },
      payload: { role: 'regulator', name: 'hashed' },
    });
    t.equal(replay.headers['idempotent-replayed'], 'true');
    t.equal(replay.json().token, undefined, 'a replay does not show the token again');
    const row = await ta.database.db
      .selectFrom('principals')
      .select('token_hash')
      .where('id', '=', created.json().id)
      .executeTakeFirstOrThrow();
    t.equal(row.token_hash, hashToken(token), 'the principal row holds the SHA-256 of the token');
    const all = [...secrets];
    for (const table of await tables(ta.database.db)) {
      const rows = await sql<{ x: string }>`select x::text as x from ${sql.table(table)} as x`.execute(ta.database.db);
      const text = rows.rows.map((r) => r.x).join('\n');
      t.same(
        all.filter((s) => text.includes(s)).map((s) => s.slice(0, 8)),
        [],
        `table ${table} holds no token`,
      );
    }
  });

  // ---- logs (last: it reads what every test above logged) -----------------------------------------

  t.test('no token and no Authorization header value is ever logged, under all of the traffic above', async (t) => {
    await ta.req({ method: 'GET', url: '/v1/me', token: f.applicant.token, headers: { 'idempotency-key': 'log-key' } });
    await ta.req({
      method: 'POST',
      url: '/v1/products',
      token: f.applicant.token,
      payload: '{"broken',
      headers: { 'content-type': 'application/json' },
    });
    const log = logLines.join('');
    t.ok(logLines.length > 100, `${logLines.length} log lines read`);
    const leaked = [...secrets].filter((s) => log.includes(s) || log.includes(s.slice(-24)));
    t.same(
      leaked.map((s) => s.slice(0, 8)),
      [],
      `none of ${secrets.size} tokens (nor their last 24 characters) appears`,
    );
    t.notMatch(log, /Bearer\s/i, 'no Authorization header value');
    t.notMatch(log, /"authorization":"(?!\[redacted\])/i, 'an authorization field, if any, is redacted');
    const parsed = logLines.map((l) => JSON.parse(l) as { level: number; msg?: string; reqId?: string; res?: { statusCode: number } });
    t.ok(
      parsed.some((l) => l.res?.statusCode === 429),
      'the 429s were logged',
    );
    t.ok(
      parsed.some((l) => l.res?.statusCode === 413),
      'the 413s were logged',
    );
    t.notOk(
      parsed.some((l) => l.level >= 50),
      'no error-level line: every refusal above was expected input',
    );
  });
});
