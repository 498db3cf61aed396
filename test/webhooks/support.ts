import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { buildTestApp, fixtures, type TestApp } from '../helpers/app.js';

type Tap = { teardown(fn: () => unknown): void };

export type Received = { id: string; timestamp: number; signature: string; body: string; json: any; at: number };

/**
 * A real receiver on 127.0.0.1. Every request's signature is checked with the `standardwebhooks`
 * package (not the service's code): verify() when the timestamp is within its 5-minute tolerance of
 * the wall clock, else its sign() over the same id, timestamp and body (tests move the service's
 * clock by days). Once the endpoint's secret is set (state.secret), every request must be signed. `respond` decides each answer by how many requests came before.
 */
export async function receiver(t: Tap, secret?: () => string) {
  const got: Received[] = [];
  const invalid: string[] = [];
  const state = { respond: (_n: number): { status: number; headers?: Record<string, string>; body?: string } => ({ status: 200 }), secret: secret ?? (() => ''), delayMs: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const h = req.headers as Record<string, string>;
      const r: Received = { id: h['webhook-id']!, timestamp: Number(h['webhook-timestamp']), signature: h['webhook-signature']!, body, json: JSON.parse(body), at: Date.now() };
      // Raw requests of the client's own tests carry no signature to check.
      const wh = state.secret() ? new Webhook(state.secret()) : null;
      if (wh) try {
        if (Math.abs(r.timestamp - Date.now() / 1000) < 240) wh.verify(body, { 'webhook-id': r.id, 'webhook-timestamp': h['webhook-timestamp']!, 'webhook-signature': r.signature });
        else if (!r.signature.split(' ').includes(wh.sign(r.id, new Date(r.timestamp * 1000), body))) throw new Error('no matching signature');
      } catch (err) {
        invalid.push(`${r.id}: ${(err as Error).message}`);
      }
      got.push(r);
      const answer = state.respond(got.length - 1);
      setTimeout(() => {
        res.writeHead(answer.status, answer.headers ?? {});
        res.end(answer.body ?? 'ok');
      }, state.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, got, invalid, state, server };
}

export const DAY = 86_400_000;

/** An app whose webhooks may call loopback (WEBHOOK_ALLOW_PRIVATE), the usual cast, and helpers over HTTP. */
export async function webhookApp(t: Tap, opts: { env?: Record<string, string>; ta?: TestApp } = {}) {
  const ta = opts.ta ?? (await buildTestApp(t, { env: { WEBHOOK_ALLOW_PRIVATE: 'true', ...opts.env } }));
  const f = await fixtures(ta);
  const ok = (r: Awaited<ReturnType<TestApp['req']>>, status = 200) => {
    if (r.statusCode !== status) throw new Error(`expected ${status}, got ${r.statusCode}: ${r.body}`);
    return r.json();
  };
  const hook = async (token: string, payload: Record<string, unknown>) => ok(await ta.req({ method: 'POST', url: '/v1/webhooks', token, payload }), 201);
  const deliveries = async (token: string, id: string) => ok(await ta.req({ method: 'GET', url: `/v1/webhooks/${id}/deliveries?limit=200`, token })).items as any[];
  const sandboxCase = async (token = f.applicant.token) => {
    const product = await f.product(token);
    return ok(
      await ta.req({
        method: 'POST',
        url: '/v1/sandbox-cases',
        token,
        payload: { product_id: product.id, scenarios: ['triage'], test_scope: { regions: ['Shenzhen'], max_users: 10, duration_months: 6 }, risks: [{ description: 'misdiagnosis', level: 'high' }], safeguards: ['human review'], contact: { name: 'Li', email: 'li@example.cn' } },
      }),
      201,
    );
  };
  const fire = async (token: string, id: string, type: string, payload?: unknown) => ok(await ta.req({ method: 'POST', url: `/v1/sandbox-cases/${id}/events`, token, payload: payload === undefined ? { type } : { type, payload } }));
  const dispatch = () => ta.app.webhooks.dispatcher.dispatchOnce();
  return { ...f, ta, ok, hook, deliveries, sandboxCase, fire, dispatch };
}
