// The webhook client (SPEC §9): https only (plain http and private addresses only with
// WEBHOOK_ALLOW_PRIVATE=true); the host is resolved and every address checked BEFORE any connection,
// and the connection goes to the address checked (the client's `lookup` answers it), so a name that
// resolves to a public address when checked and to 169.254.169.254 a moment later reaches nothing
// private. No redirect is followed (a 3xx is a failure), 10 s for the whole exchange, at most 1 KiB
// of the answer kept.
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export type ResolvedAddress = { address: string; family: 4 | 6 };
/** Resolves a host name to its addresses (tests inject one; the service uses the system resolver). */
export type Lookup = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: Lookup = async (hostname) => (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

export const TIMEOUT_MS = 10_000;
export const MAX_KEPT_BODY = 1024;

export class TargetRefused extends Error {}

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16, timeout: 30_000 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16, timeout: 30_000 });

// Addresses a webhook may not reach without WEBHOOK_ALLOW_PRIVATE: private, shared (CGNAT),
// loopback, link-local (the cloud metadata service at 169.254.169.254 among them), unspecified,
// multicast and reserved ranges, in IPv4, IPv6, and IPv4 written as IPv6 (BlockList checks an
// IPv4-mapped IPv6 address against the IPv4 rules).
const forbidden = new net.BlockList();
for (const [net4, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  forbidden.addSubnet(net4, prefix, 'ipv4');
for (const [net6, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['2001:db8::', 32],
] as const)
  forbidden.addSubnet(net6, prefix, 'ipv6');

/** Whether an address is one a webhook may not reach without the flag. */
export function isForbiddenAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) return true;
  if (family === 4) return forbidden.check(address, 'ipv4');
  if (forbidden.check(address, 'ipv6')) return true;
  // ::ffff:a.b.c.d and ::ffff:xxxx:xxxx: the IPv4 address inside is judged as IPv4.
  const mapped = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (mapped) {
    const v4 = mapped[1] ?? [parseInt(mapped[2]!, 16) >> 8, parseInt(mapped[2]!, 16) & 255, parseInt(mapped[3]!, 16) >> 8, parseInt(mapped[3]!, 16) & 255].join('.');
    return forbidden.check(v4, 'ipv4');
  }
  return false;
}

/** Why a URL may not be an endpoint (null: it may), judged on its text alone. */
export function urlProblem(raw: string, allowPrivate: boolean): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'is not a valid URL';
  }
  if (u.protocol !== 'https:' && !(allowPrivate && u.protocol === 'http:')) return allowPrivate ? 'must start with https:// or http://' : 'must start with https:// (plain http only with WEBHOOK_ALLOW_PRIVATE=true)';
  if (u.username || u.password) return 'must not hold credentials';
  if (u.hash) return 'must not hold a fragment';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) && !allowPrivate && isForbiddenAddress(host)) return 'names a private, loopback or link-local address (only with WEBHOOK_ALLOW_PRIVATE=true)';
  if (!net.isIP(host) && !allowPrivate && (host === 'localhost' || host.endsWith('.localhost'))) return 'names the local host (only with WEBHOOK_ALLOW_PRIVATE=true)';
  return null;
}

/** The address to connect to: the host's addresses, each checked; refused (TargetRefused) before any connection. */
export async function checkedAddress(url: URL, opts: { allowPrivate: boolean; lookup: Lookup }): Promise<ResolvedAddress> {
  const problem = urlProblem(url.href, opts.allowPrivate);
  if (problem) throw new TargetRefused(`the URL ${problem}`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const family = net.isIP(host);
  const addresses: ResolvedAddress[] = family ? [{ address: host, family: family as 4 | 6 }] : await opts.lookup(host);
  if (addresses.length === 0) throw new TargetRefused(`${host} resolves to no address`);
  if (!opts.allowPrivate) {
    const bad = addresses.find((a) => isForbiddenAddress(a.address));
    // Every address is checked: a name with one public and one private address could be sent to either.
    if (bad) throw new TargetRefused(`${host} resolves to ${bad.address}, a private, loopback or link-local address`);
  }
  return addresses[0]!;
}

export type SendResult = { status: number | null; body: string | null; error: string | null; ok: boolean; duration_ms: number };

/** POSTs `body` to `url` with `headers`; never throws: a refusal, a network error, a timeout or a non-2xx is a failure. */
export async function send(url: string, body: string, headers: Record<string, string>, opts: { allowPrivate: boolean; lookup: Lookup; timeoutMs?: number }): Promise<SendResult> {
  const started = performance.now();
  const done = (r: Omit<SendResult, 'duration_ms' | 'ok'>): SendResult => ({ ...r, ok: r.status !== null && r.status >= 200 && r.status < 300, duration_ms: Math.round(performance.now() - started) });
  const u = new URL(url);
  let target: ResolvedAddress;
  try {
    target = await checkedAddress(u, opts);
  } catch (err) {
    return done({ status: null, body: null, error: err instanceof TargetRefused ? `refused: ${err.message}` : `cannot resolve ${u.hostname}: ${(err as Error).message}` });
  }
  const client = u.protocol === 'https:' ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<SendResult, 'duration_ms' | 'ok'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(done(r));
    };
    const req = client.request(
      u,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'gd-ai-sandbox-registry-webhooks' },
        // Connections are kept for the next delivery to the same host and port: each was opened to an
        // address checked when it was made (the lookup below), and every request is checked again.
        agent: u.protocol === 'https:' ? httpsAgent : httpAgent,
        // The connection goes to the address checked above, whatever the name resolves to now.
        lookup: ((_host: string, options: { all?: boolean }, cb: (...args: unknown[]) => void) =>
          options?.all ? cb(null, [{ address: target.address, family: target.family }]) : cb(null, target.address, target.family)) as never,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        const end = () => finish({ status: res.statusCode ?? null, body: Buffer.concat(chunks).toString('utf8'), error: null });
        res.on('data', (chunk: Buffer) => {
          if (kept < MAX_KEPT_BODY) {
            chunks.push(chunk.subarray(0, MAX_KEPT_BODY - kept));
            kept += Math.min(chunk.length, MAX_KEPT_BODY - kept);
          }
          // Enough read: what follows is not kept, and the answer's status is known.
          if (kept >= MAX_KEPT_BODY) end();
        });
        res.on('end', end);
        res.on('error', (err) => finish({ status: res.statusCode ?? null, body: Buffer.concat(chunks).toString('utf8'), error: err.message }));
      },
    );
    const timer = setTimeout(() => finish({ status: null, body: null, error: `no answer within ${opts.timeoutMs ?? TIMEOUT_MS} ms` }), opts.timeoutMs ?? TIMEOUT_MS);
    req.on('error', (err) => finish({ status: null, body: null, error: err.message }));
    req.end(body);
  });
}
