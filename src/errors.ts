// The one catalogue of errors the API can answer. Routes and services throw these; the root
// handler in http/plugins/errors.ts turns them (and ajv's errors) into application/problem+json.
import type { Label } from '../workflows/kit.js';

export const ERRORS = {
  validation_failed: { status: 400, title: 'Request is not valid' },
  unauthenticated: { status: 401, title: 'Authentication required' },
  forbidden: { status: 403, title: 'Not allowed for this role' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflicts with a stored record' },
  invalid_transition: { status: 409, title: 'Event not allowed in the current state' },
  request_timeout: { status: 408, title: 'Request not received in time' },
  version_mismatch: { status: 412, title: 'The case has moved on' },
  payload_too_large: { status: 413, title: 'Request body too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  rule_violation: { status: 422, title: 'A rule refused the request' },
  idempotency_conflict: { status: 422, title: 'Idempotency-Key reused with another request' },
  rate_limited: { status: 429, title: 'Too many requests' },
  header_too_large: { status: 431, title: 'Request header fields too large' },
  internal_error: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const;

export type ErrorCode = keyof typeof ERRORS;
export type FieldError = { path: string; message: string };

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
    /**
     * What a workflow's rule said, in both languages: the workbench shows it in the page's language.
     * Not part of the problem (its detail is the English, and only code, detail and extra are sent).
     */
    readonly said?: Label,
  ) {
    super(detail);
    this.status = ERRORS[code].status;
  }
}

export const validationFailed = (errors: FieldError[], detail?: string) =>
  new AppError('validation_failed', detail ?? errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
export const forbidden = (detail: string) => new AppError('forbidden', detail);
/** A rule refused: the problem's detail is the English; a workflow's refusal keeps both languages (said). */
export const ruleViolation = (rule: string, refusal: string | Label) =>
  typeof refusal === 'string' ? new AppError('rule_violation', refusal, { rule }) : new AppError('rule_violation', refusal.en, { rule }, refusal);

export function problemBody(code: ErrorCode, detail: string, extra: Record<string, unknown> = {}) {
  const { status, title } = ERRORS[code];
  return { type: `https://registry.gd-ai-sandbox.example/problems/${code.replace(/_/g, '-')}`, title, status, detail, code, ...extra };
}

/**
 * SQLSTATE class 22 (data exception): a value the schemas let through that PostgreSQL cannot hold
 * (a NUL, an unpaired surrogate, a date out of range). Bad input, not a fault of the service.
 */
export const isDataException = (err: unknown): boolean =>
  typeof (err as { code?: unknown } | null)?.code === 'string' && /^22[0-9A-Z]{3}$/.test((err as { code: string }).code);

// Node's errors when a connection cannot be made or is lost (a stopped server, a dropped network).
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);
// SQLSTATE: class 08 (connection exception), the server shutting down or starting (57P01-57P03),
// no connection slot left (53300), the database itself gone (3D000).
const OUTAGE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123]|53300|3D000)$/;
// The drivers' own words for a connection that is lost or a handle that is closed: they carry no code.
const OUTAGE_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed|Cannot use a pool after calling end|driver has already been destroyed|PGlite is closed)/;

/**
 * The database cannot be reached (SPEC §2: 503 `unavailable`, with Retry-After): PostgreSQL refusing
 * or dropping connections, a pool or an embedded database that is closed. Not a fault in the request
 * or in the service, and it passes: the client may retry.
 */
export function isUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 3) return false;
  const { code, message, errors, cause } = err as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || OUTAGE_SQLSTATE.test(code))) return true;
  if (typeof message === 'string' && OUTAGE_MESSAGE.test(message)) return true;
  // Node reports a failed connection to every address of a host name as one AggregateError.
  if (Array.isArray(errors) && errors.length > 0 && errors.every((e) => isUnavailable(e, depth + 1))) return true;
  return cause !== undefined && isUnavailable(cause, depth + 1);
}
