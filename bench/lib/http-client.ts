// A lean HTTP/1.1 keep-alive connection for the load generator: one request at a time, the request
// written as one buffer, the answer read by its Content-Length. The generator shares the machine's
// two cores with the service and PostgreSQL, so every microsecond it spends is one the service
// does not get; this costs about half of what undici's pool did per request (0.064–0.072 ms of CPU
// against 0.134–0.16 ms, measured in benchmark 1). Anything it does not
// understand (chunked bodies, a closed connection) is an error, never a guess.
import net from 'node:net';

export type Answer = { status: number; body: Buffer };

const HEADER_END = Buffer.from('\r\n\r\n');

/** One HTTP/1.1 request as the bytes sent. */
export function encodeRequest(method: string, path: string, headers: Record<string, string>, body?: string): Buffer | string {
  let head = `${method} ${path} HTTP/1.1\r\nhost: bench\r\n`;
  for (const k in headers) head += `${k}: ${headers[k]}\r\n`;
  const payload = body === undefined ? null : Buffer.from(body);
  if (payload) head += `content-length: ${payload.length}\r\n`;
  head += '\r\n';
  return payload ? Buffer.concat([Buffer.from(head, 'latin1'), payload]) : head;
}

export class Connection {
  private socket: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private pending: { resolve: (a: Answer) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private readonly connected: Promise<void>;

  constructor(url: URL) {
    this.socket = net.connect({ host: url.hostname, port: Number(url.port) });
    this.socket.setNoDelay(true);
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.connected.catch(() => {}); // reported by request()
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (e: Error) => {
      this.failure = e;
      this.pending?.reject(e);
      this.pending = null;
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed by the server')));
  }

  async request(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
    return this.send(encodeRequest(method, path, headers, body));
  }

  /** Sends a request already encoded (encodeRequest), so a load can build its requests before it starts. */
  async send(raw: Buffer | string): Promise<Answer> {
    await this.connected;
    if (this.failure) throw this.failure;
    if (this.pending) throw new Error('one request at a time per connection');
    const answer = new Promise<Answer>((resolve, reject) => (this.pending = { resolve, reject }));
    this.socket.write(raw);
    return answer;
  }

  private onData(chunk: Buffer) {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const end = this.buf.indexOf(HEADER_END);
    if (end < 0 || !this.pending) return;
    const head = this.buf.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!m || /\r\ntransfer-encoding:/i.test(head)) {
      const e = new Error(`answer without a Content-Length: ${head.slice(0, 200)}`);
      this.failure = e;
      this.pending.reject(e);
      this.pending = null;
      this.socket.destroy();
      return;
    }
    const total = end + 4 + Number(m[1]);
    if (this.buf.length < total) return;
    const body = this.buf.subarray(end + 4, total);
    this.buf = this.buf.length > total ? this.buf.subarray(total) : Buffer.alloc(0);
    const p = this.pending;
    this.pending = null;
    p.resolve({ status, body });
  }

  /** The connection failed or was closed by the server (an idle keep-alive timing out): do not send on it. */
  get broken(): boolean {
    return this.failure !== null;
  }

  close() {
    this.socket.destroy();
  }
}
