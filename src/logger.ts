import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from './config.js';

/**
 * Structured logs; credentials are never written, whatever logs a request. Without a destination,
 * lines go to stdout asynchronously: a burst of requests is written in a few large writes instead
 * of one system call per line, and what is buffered is flushed when the process exits.
 */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', '*.token', 'req.headers["idempotency-key"]'],
        censor: '[redacted]',
      },
    },
    // At most 4 KiB of whole lines per write: on a pipe that is one atomic write (PIPE_BUF), so
    // the lines of worker processes sharing stdout (WORKERS > 1) never interleave mid-line.
    destination ?? pino.destination({ dest: 1, sync: false, maxWrite: 4096 }),
  );
}

/**
 * One line per request, written when it completes: its id, method, URL, caller's address, status
 * and time. (Fastify's default writes two, one on arrival and one on completion; at `info` that was
 * a sixth of the service's CPU per request.) Errors and everything else stay as Fastify logs them.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const line = { req: { method: request.method, url: request.url, remoteAddress: request.ip }, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}
