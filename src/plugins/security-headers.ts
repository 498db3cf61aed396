// helmet's security headers (CSP, HSTS, nosniff, frame and referrer policies, …) on every answer.
// They depend on nothing in the request, so helmet is run once at start-up and its headers are
// set from that; @fastify/helmet rebuilt helmet and re-parsed the CSP on every request.
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

export default fp<HelmetOptions>(
  async (app, options) => {
    const headers = helmetHeaders(options);
    app.addHook('onRequest', (_request, reply, done) => {
      for (const [name, value] of headers) reply.raw.setHeader(name, value);
      done();
    });
  },
  { name: 'security-headers' },
);
