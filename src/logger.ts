import pino, { type Logger } from 'pino';
import type { Config } from './config.js';

/** Structured logs; credentials are never written, whatever logs a request. */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', '*.token', 'req.headers["idempotency-key"]'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
