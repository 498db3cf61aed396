import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from './config.js';

/**
 * Structured logs; credentials are never written, whatever logs a request. Without a destination,
 * lines go to stdout asynchronously and buffered: they are written 3 KiB at a time, or after at
 * most 250 ms when fewer are waiting, instead of one system call per line (under load those writes
 * were ~3 % of the service's profile); what is buffered is flushed when the process exits.
 */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', '*.token', 'req.headers["idempotency-key"]', 'req.headers.cookie', 'headers.cookie', 'req.headers["set-cookie"]'],
        censor: '[redacted]',
      },
    },
    // At most 4 KiB of whole lines per write: on a pipe that is one atomic write (PIPE_BUF), so
    // the lines of worker processes sharing stdout (WORKERS > 1) never interleave mid-line.
    destination ?? pino.destination({ dest: 1, sync: false, maxWrite: 4096, minLength: 3072, periodicFlush: 250 }),
  );
}

/**
 * One line per request, written when it completes: its id, method, URL, caller's address, status
 * and time. (Fastify's default writes two, one on arrival and one on completion; at `info` that was
 * a sixth of the service's CPU per request.) Errors and everything else stay as Fastify logs them.
 *
 * The completed line holds only the fields built here, none of them a header or a body, so it is
 * written by a child of the server's logger without redaction: redaction copies every object
 * logged, looking for the paths above, and on this line there is nothing to find.
 */
export class RequestLog extends LogController {
  private readonly plain = new WeakMap<object, Logger>();

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const line = { req: { method: request.method, url: request.url, remoteAddress: request.ip }, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime };
    if (error) {
      reply.log.error({ ...line, err: error }, 'request errored');
      return;
    }
    const root = request.server.log as Logger;
    let plain = this.plain.get(root);
    if (!plain) this.plain.set(root, (plain = root.child({}, { redact: [] })));
    plain.info({ [this.requestIdLogLabel]: request.id, ...line }, 'request completed');
  }
}
