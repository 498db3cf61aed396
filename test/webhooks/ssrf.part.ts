import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { isForbiddenAddress, send, TIMEOUT_MS, type Lookup } from '../../src/webhooks/http.js';
import { Dispatcher } from '../../src/webhooks/dispatcher.js';
import { receiver, webhookApp } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  /** A TCP server on 127.0.0.1 that counts connections: proof that a refusal came before any. */
  async function connectionCounter(t: { teardown(fn: () => unknown): void }) {
    const state = { connections: 0 };
    const server = net.createServer((s) => {
      state.connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return { port: (server.address() as AddressInfo).port, state };
  }

  const resolvesTo =
    (...addresses: string[]): Lookup & { calls: string[] } => {
      const calls: string[] = [];
      const fn = async (host: string) => {
        calls.push(host);
        return addresses.map((address) => ({ address, family: net.isIP(address) as 4 | 6 }));
      };
      return Object.assign(fn, { calls });
    };

  t.test('addresses a webhook may not reach without WEBHOOK_ALLOW_PRIVATE', async (t) => {
    for (const a of ['10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.254', '192.168.1.1', '100.64.0.1', '127.0.0.1', '127.8.9.10', '169.254.169.254', '169.254.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::', '::1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', '::ffff:10.0.0.1', '::ffff:c0a8:101', 'not an address'])
      t.ok(isForbiddenAddress(a), `${a} is refused`);
    for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8', '240e::1']) t.notOk(isForbiddenAddress(a), `${a} is allowed`);
    t.equal(TIMEOUT_MS, 10_000);
  });

  t.test('a name resolving to a private, loopback or link-local address is refused before any connection', async (t) => {
    const counter = await connectionCounter(t);
    for (const addresses of [['10.0.0.1'], ['169.254.169.254'], ['::1'], ['127.0.0.1'], ['::ffff:127.0.0.1'], ['fe80::1'], ['100.64.1.1'], ['93.184.216.34', '127.0.0.1']]) {
      const lookup = resolvesTo(...addresses);
      const r = await send(`https://hooks.example.test:${counter.port}/x`, '{}', {}, { allowPrivate: false, lookup });
      t.match(r, { ok: false, status: null, error: /^refused: hooks\.example\.test resolves to .*private, loopback or link-local/ }, addresses.join(', '));
      t.same(lookup.calls, ['hooks.example.test'], 'resolved once, by the injected lookup');
    }
    // Literal addresses and plain http are refused on their text.
    t.match(await send(`https://127.0.0.1:${counter.port}/`, '{}', {}, { allowPrivate: false, lookup: resolvesTo() }), { ok: false, error: /^refused: the URL names a private/ });
    t.match(await send(`https://[::1]:${counter.port}/`, '{}', {}, { allowPrivate: false, lookup: resolvesTo() }), { ok: false, error: /^refused/ });
    t.match(await send(`http://hooks.example.test:${counter.port}/`, '{}', {}, { allowPrivate: false, lookup: resolvesTo('127.0.0.1') }), { ok: false, error: /^refused: the URL must start with https:\/\// });
    t.equal(counter.state.connections, 0, 'no connection was ever made');
  });

  t.test('the connection goes to the address checked: a second resolution (DNS rebinding) is never asked', async (t) => {
    const r = await receiver(t);
    const port = new URL(r.url).port;
    let n = 0;
    const calls: string[] = [];
    // The first answer is the loopback receiver (allowed with the flag); any later one would be elsewhere.
    const lookup: Lookup = async (host) => (calls.push(host), n++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.9.9.9', family: 4 }]);
    const res = await send(`http://rebind.example.test:${port}/hook`, '{"a":1}', { 'webhook-id': 'x' }, { allowPrivate: true, lookup });
    t.match(res, { ok: true, status: 200 });
    t.same(calls, ['rebind.example.test']);
    t.equal(r.got.length, 1);
  });

  t.test('redirects are not followed; a silent receiver times out; 1 KiB of an answer is kept', async (t) => {
    const target = await receiver(t);
    const r = await receiver(t);
    r.state.respond = () => ({ status: 302, headers: { location: target.url } });
    const res = await send(r.url, '{}', {}, { allowPrivate: true, lookup: resolvesTo() });
    t.match(res, { ok: false, status: 302 });
    t.equal(target.got.length, 0, 'the redirect target heard nothing');

    const silent = http.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.teardown(() => (silent.closeAllConnections(), new Promise<void>((resolve) => silent.close(() => resolve()))));
    const slow = await send(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, '{}', {}, { allowPrivate: true, lookup: resolvesTo(), timeoutMs: 100 });
    t.match(slow, { ok: false, status: null, error: /no answer within 100 ms/ });

    r.state.respond = () => ({ status: 200, body: 'y'.repeat(100_000) });
    const big = await send(r.url, '{}', {}, { allowPrivate: true, lookup: resolvesTo() });
    t.match(big, { ok: true, status: 200 });
    t.equal(big.body!.length, 1024);
  });

  t.test('the dispatcher refuses a private target before connecting, and records why', async (t) => {
    const w = await webhookApp(t, { env: { WEBHOOK_ALLOW_PRIVATE: 'false' } });
    const counter = await connectionCounter(t);
    const hook = await w.hook(w.applicant.token, { url: `https://metadata.example.test:${counter.port}/`, events: ['sandbox-cases.CASE_CREATED'] });
    await w.sandboxCase();
    const lookup = resolvesTo('169.254.169.254');
    const dispatcher = new Dispatcher({ db: w.ta.app.db, now: w.ta.app.engine.now, box: w.ta.app.webhooks.box, allowPrivate: false, lookup }, { intervalMs: 0 });
    t.match(await dispatcher.dispatchOnce(), { claimed: 1, delivered: 0, failed: 1 });
    t.same(lookup.calls, ['metadata.example.test']);
    t.equal(counter.state.connections, 0);
    const [d] = await w.deliveries(w.applicant.token, hook.id);
    t.match(d, { status: 'pending', attempts: 1, last_status_code: null });
    const attempt = await w.ta.app.db.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', d.id).executeTakeFirstOrThrow();
    t.match(attempt.error, /^refused: metadata\.example\.test resolves to 169\.254\.169\.254/);
  });
});
