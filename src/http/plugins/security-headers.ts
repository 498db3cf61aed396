// helmet's security headers (CSP, HSTS, nosniff, frame and referrer policies, …) on every answer.
// They depend on the request only through whether it came over TLS, so helmet is run once at
// start-up and its headers are set from that; @fastify/helmet rebuilt helmet and re-parsed the CSP
// on every request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';

/** The headers helmet sets for these options, lower-cased names, in the order it sets them. */
export function helmetHeaders(options: HelmetOptions): Array<[string, string]> {
  const headers = new Map<string, string>();
  const res = {
    setHeader: (name: string, value: string | number | readonly string[]) => void headers.set(name.toLowerCase(), String(value)),
    removeHeader: (name: string) => void headers.delete(name.toLowerCase()),
  };
  let finished = false;
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err;
    finished = true;
  });
  // Directives given as functions of the request (nonces) would need helmet per request.
  if (!finished) throw new Error('helmet did not finish synchronously: per-request directives are not supported here');
  return [...headers];
}

/**
 * The headers for an answer over plain HTTP: those for TLS less HSTS and the CSP's
 * upgrade-insecure-requests. Over http://<lan-ip>:3000 the upgrade sent the stylesheet and the
 * search form to https://, which nothing serves there, and HSTS would pin the host to it; a
 * browser ignores HSTS over plain HTTP anyway (RFC 6797 §8.1).
 */
export function plainHttpHeaders(tls: Array<[string, string]>): Array<[string, string]> {
  return tls
    .filter(([name]) => name !== 'strict-transport-security')
    .map(([name, value]): [string, string] =>
      name === 'content-security-policy'
        ? [
            name,
            value
              .split(';')
              .filter((d) => d.trim().toLowerCase() !== 'upgrade-insecure-requests')
              .join(';'),
          ]
        : [name, value],
    );
}

export default fp<HelmetOptions>(
  async (app, options) => {
    const tls = helmetHeaders(options);
    const plain = plainHttpHeaders(tls);
    app.addHook('onRequest', (request, reply, done) => {
      // request.protocol is 'https' on a TLS socket, or from X-Forwarded-Proto only when the
      // proxy is trusted (TRUST_PROXY): a client cannot ask for HSTS on a plain connection.
      for (const [name, value] of request.protocol === 'https' ? tls : plain) reply.raw.setHeader(name, value);
      done();
    });
  },
  { name: 'security-headers' },
);
