import http from 'node:http';
import t from 'tap';
import { openTestDatabase, testDatabaseUrl } from '../helpers/app.js';
import { call, startServer, type Server } from '../helpers/server.js';

// The service as `npm start` runs it with WORKERS=2 (src/cluster.ts) on a new PostgreSQL database:
// one bootstrap admin, both workers serving, a revocation through one worker refused at once by the
// other, a killed worker replaced, and SIGTERM stopping every process.

t.test('WORKERS=2: one bootstrap, both workers serve, revocation relayed, a dead worker replaced, SIGTERM stops all', { skip: testDatabaseUrl() ? false : 'needs PostgreSQL: worker processes cannot share the embedded database, which lives in one process' }, async (t) => {
  const database = await openTestDatabase({ poolSize: 1 });
  t.teardown(() => database.close());
  const url = (database as typeof database & { url: string }).url;

  /** One request on a connection of its own, so the primary hands it to the next worker. */
  const fresh = (base: string, method: string, path: string, token?: string, body?: unknown) =>
    new Promise<{ status: number; json: any }>((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(`${base}${path}`, { method, agent: false, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(data ? { 'content-type': 'application/json' } : {}) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : null }));
      });
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
      req.end(data);
    });
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  /** The worker pids that logged a completed request, in order of their first. */
  const servingPids = (server: Server) => {
    const pids = new Set<number>();
    for (const line of server.output().split('\n')) {
      if (!line.startsWith('{')) continue;
      const l = JSON.parse(line);
      if (l.msg === 'request completed') pids.add(l.pid);
    }
    return [...pids];
  };

  const server = await startServer({ DATABASE_URL: url, WORKERS: '2', LOG_LEVEL: 'info' }, { timeoutMs: 60_000 });
  t.teardown(() => server.kill('SIGKILL'));

  // Ready means one worker listens; wait for both.
  const readyPids = () => new Set(server.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((l) => l.msg === 'ready').map((l) => l.pid)).size;
  for (let i = 0; i < 300 && readyPids() < 2; i++) await new Promise((r) => setTimeout(r, 100));
  t.equal(readyPids(), 2, 'two workers start');

  const tokens = [...server.output().matchAll(/created an admin\. Its token \(shown once, keep it safe\):\s+(\S+)/g)].map((m) => m[1]!);
  t.equal(tokens.length, 1, 'a new database gets one bootstrap admin, its token printed once, whatever the number of workers');
  const admin = tokens[0]!;
  const me = await call(server.url, 'GET', '/v1/me', admin);
  t.equal(me.json?.role, 'admin', 'the printed token is the admin');

  const org = await call(server.url, 'POST', '/v1/organizations', admin, {
    name: 'Workers Robotics',
    kind: 'enterprise',
    region: 'hong_kong',
    registration_number: '31415926',
    contact_email: 'w@example.hk',
  });
  t.equal(org.status, 201, org.text);
  const victim = await call(server.url, 'POST', '/v1/principals', admin, { role: 'applicant', organization_id: org.json.id, name: 'soon revoked' });
  t.equal(victim.status, 201);

  // Every worker authenticates (and caches) the victim's principal.
  const before = await Promise.all(Array.from({ length: 30 }, () => fresh(server.url, 'GET', '/v1/me', victim.json.token)));
  t.same([...new Set(before.map((r) => r.status))], [200], 'the token works on every connection');
  // (The workers write their logs asynchronously: give the lines a moment to arrive.)
  let pids = servingPids(server);
  for (let i = 0; i < 50 && pids.length < 2; i++) {
    await new Promise((r) => setTimeout(r, 100));
    pids = servingPids(server);
  }
  t.equal(pids.length, 2, `two worker processes served the requests (${pids.join(', ')})`);

  const revoked = await fresh(server.url, 'DELETE', `/v1/principals/${victim.json.id}`, admin);
  t.equal(revoked.status, 204, 'revoked through one worker');
  const after = await Promise.all(Array.from({ length: 30 }, () => fresh(server.url, 'GET', '/v1/me', victim.json.token)));
  t.same([...new Set(after.map((r) => r.status))], [401], 'at once refused by both workers, not after the principal cache expires');

  // A worker that dies is replaced, and the service keeps answering meanwhile.
  const killed = pids[0]!;
  process.kill(killed, 'SIGKILL');
  // (Node's primary hands a new connection to a worker that died an instant before it noticed, and
  // that connection is never answered: wait until it has noticed. A client's timeout and retry, with
  // an Idempotency-Key for a POST, covers that instant in production.)
  for (let i = 0; i < 100 && !/a worker died/.test(server.output()); i++) await new Promise((r) => setTimeout(r, 50));
  const during = await Promise.all(Array.from({ length: 10 }, () => fresh(server.url, 'GET', '/v1/me', admin)));
  t.same([...new Set(during.map((r) => r.status))], [200], 'the other worker answers while one is down');
  const deadline = Date.now() + 30_000;
  let replaced: number[] = [];
  while (Date.now() < deadline) {
    await Promise.all(Array.from({ length: 6 }, () => fresh(server.url, 'GET', '/v1/me', admin)));
    replaced = servingPids(server).filter((p) => p !== killed && !pids.includes(p));
    if (replaced.length > 0) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  t.equal(replaced.length, 1, 'a new worker took its place and serves requests');
  t.match(server.output(), /a worker died; starting another/, 'the death is logged');

  // SIGTERM stops the workers and the primary, which exits 0.
  const workers = [pids[1]!, replaced[0]!];
  const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
  server.child.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
  t.equal(code, 0, 'the primary exits 0 after its workers');
  t.same(workers.filter(alive), [], 'no worker process is left');
});
