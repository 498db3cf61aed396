// What Node's HTTP parser refuses before Fastify sees the request is answered as problem+json too
// (SPEC §2), and a 413 can be read by the client that sent the body. A real listening server, raw
// sockets: app.inject never goes through the parser.
import net from 'node:net';
import { buildTestApp, fixtures } from '../helpers/app.js';
import { assertProblem } from '../foundation/support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  type RawAnswer = { statusCode: number; statusLine: string; headers: Record<string, string>; body: string; closed: boolean };

  /** Sends bytes as they are and parses the one answer; `closed`: the server closed within 2 s of it. */
  function raw(port: number, ...parts: Array<string | Buffer>): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let data = Buffer.alloc(0);
      let answer: Omit<RawAnswer, 'closed'> | null = null;
      let timer: NodeJS.Timeout | undefined;
      const parse = () => {
        const text = data.toString('utf8');
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) return null;
        const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
        const headers: Record<string, string> = {};
        for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
        const body = text.slice(end + 4);
        if (Buffer.byteLength(body) < Number(headers['content-length'])) return null;
        return { statusCode: Number(statusLine!.split(' ')[1]), statusLine: statusLine!, headers, body };
      };
      const settle = (closed: boolean) => {
        clearTimeout(timer);
        socket.destroy();
        if (answer) resolve({ ...answer, closed });
        else reject(new Error(`no answer: ${JSON.stringify(data.toString('utf8').slice(0, 200))}`));
      };
      socket.on('data', (d) => {
        data = Buffer.concat([data, d]);
        if (!answer && (answer = parse())) timer = setTimeout(() => settle(false), 2000);
      });
      socket.on('close', () => settle(true));
      socket.on('error', () => {});
      for (const p of parts) socket.write(p);
    });
  }

  const ta = await buildTestApp(t);
  const f = await fixtures(ta);
  await ta.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (ta.app.server.address() as net.AddressInfo).port;

  const refusals: Array<{ what: string; request: string | Buffer; status: number; code: string; path?: string }> = [
    { what: 'a header over 16 KB', request: `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`, status: 431, code: 'header_too_large' },
    { what: 'a NUL in a header value', request: 'GET /v1/register/sandbox HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n', status: 400, code: 'validation_failed', path: 'header' },
    { what: 'a vertical tab in a header value', request: 'GET /v1/register/sandbox HTTP/1.1\r\nHost: x\r\nX-A: a\x0bb\r\n\r\n', status: 400, code: 'validation_failed', path: 'header' },
    {
      what: 'Content-Length with Transfer-Encoding',
      request: 'POST /v1/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      status: 400,
      code: 'validation_failed',
      path: 'header/transfer-encoding',
    },
    {
      what: 'a chunk size that is not hexadecimal',
      request: 'POST /v1/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
      status: 400,
      code: 'validation_failed',
      path: 'body',
    },
    { what: 'a malformed request line', request: 'GARBAGE\r\n\r\n', status: 400, code: 'validation_failed', path: 'request' },
    { what: 'a request line with a bad version', request: 'GET /health/live HTTP/1.x\r\nHost: x\r\n\r\n', status: 400, code: 'validation_failed', path: 'request' },
    { what: 'a request line that is not HTTP', request: 'GET /health/live HTTX/1.1\r\nHost: x\r\n\r\n', status: 400, code: 'validation_failed', path: 'request' },
    {
      what: 'a UTF-8 query sent unencoded',
      request: Buffer.from('GET /v1/register/certificates?q=智行 HTTP/1.1\r\nHost: x\r\n\r\n', 'utf8'),
      status: 400,
      code: 'validation_failed',
      path: 'request',
    },
  ];

  t.test("the HTTP parser's refusals are problems, and the connection is closed", async (t) => {
    for (const r of refusals) {
      await t.test(r.what, async (t) => {
        const res = await raw(port, r.request);
        t.match(res.statusLine, new RegExp(`^HTTP/1\\.1 ${r.status} \\w`), 'a status line with its reason');
        assertProblem(t, res as never, r.status, r.code, r.path);
        t.equal(res.headers.connection, 'close');
        t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'a request id to quote');
        t.ok(res.closed, 'the server closed the connection');
      });
    }
  });

  t.test('an HTTP/1.1 request without Host, or with two, is a 400 problem naming header/host', async (t) => {
    for (const request of ['GET /health/live HTTP/1.1\r\nConnection: close\r\n\r\n', 'GET /v1/register/sandbox HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n']) {
      const res = await raw(port, request);
      assertProblem(t, res as never, 400, 'validation_failed', 'header/host');
    }
    const http10 = await raw(port, 'GET /health/live HTTP/1.0\r\n\r\n');
    t.equal(http10.statusCode, 200, 'HTTP/1.0 has no Host and needs none');
    const encoded = await raw(port, `GET /v1/register/certificates?q=${encodeURIComponent('智行')} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    t.equal(encoded.statusCode, 200, 'the same query percent-encoded is served');
  });

  t.test('a request not received in time is a 408 problem', async (t) => {
    // Node's own timer checks connections every 30 s; its error is raised here on a connection that
    // has sent half a request, as Node raises it.
    const accepted = new Promise<net.Socket>((resolve) => ta.app.server.once('connection', resolve));
    const answer = raw(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\n');
    const socket = await accepted;
    await new Promise((r) => setTimeout(r, 50));
    ta.app.server.emit('clientError', Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket);
    const res = await answer;
    assertProblem(t, res as never, 408, 'request_timeout');
    t.ok(res.closed, 'the server closed the connection');
  });

  const MiB = 1024 * 1024;

  t.test('a body over the limit is read to its end before the 413, so the client that sent it reads the answer', async (t) => {
    let sent = 0;
    let answeredAfter = -1;
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const errors: string[] = [];
    socket.on('data', (d) => {
      if (answeredAfter < 0) answeredAfter = sent;
      text += d;
    });
    socket.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(`POST /v1/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${f.applicant.token}\r\nContent-Length: ${3 * MiB}\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    // Slower than the server answers: the rest of the body is still on its way when the 413 is decided.
    for (let i = 0; i < (3 * MiB) / chunk.length && !socket.destroyed; i++) {
      await new Promise<void>((resolve) => socket.write(chunk, () => resolve()));
      sent += chunk.length;
      if (i % 8 === 7) await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.race([ended, new Promise((r) => setTimeout(r, 10_000))]);
    socket.destroy();
    t.same(errors, [], 'no reset while sending');
    t.equal(sent, 3 * MiB, 'the whole body could be sent');
    t.ok(answeredAfter >= 3 * MiB - chunk.length, `the answer came once the body was in (after ${answeredAfter} bytes)`);
    t.match(text, /^HTTP\/1\.1 413 /);
    t.match(text, /"code":"payload_too_large"/);
  });

  t.test("Node's fetch reads the 413 problem for a 3 MiB body, every time", async (t) => {
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v1/products`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${f.applicant.token}` },
          body: JSON.stringify({ name: 'x'.repeat(3 * MiB) }),
        });
        const body = (await res.json()) as { code?: string };
        outcomes.push(`${res.status} ${res.headers.get('content-type')?.split(';')[0]} ${body.code}`);
      } catch (err) {
        outcomes.push(`failed: ${(err as { cause?: { code?: string } }).cause?.code ?? String(err)}`);
      }
    }
    t.same(outcomes, Array(10).fill('413 application/problem+json payload_too_large'));
  });

  t.test('a body far over the bound is refused without reading it all', async (t) => {
    const started = Date.now();
    const res = await raw(port, `POST /v1/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${f.applicant.token}\r\nContent-Length: ${1024 * MiB}\r\n\r\n{`);
    assertProblem(t, res as never, 413, 'payload_too_large');
    t.ok(Date.now() - started < 5000, 'answered at once, not after waiting for a GiB');
  });
});
