// The one catalogue of errors the API can answer. Routes and services throw these; the root
// handler in plugins/errors.ts turns them (and ajv's errors) into application/problem+json.

export const ERRORS = {
  validation_failed: { status: 400, title: 'Request is not valid' },
  unauthenticated: { status: 401, title: 'Authentication required' },
  forbidden: { status: 403, title: 'Not allowed for this role' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflicts with a stored record' },
  invalid_transition: { status: 409, title: 'Event not allowed in the current state' },
  version_mismatch: { status: 412, title: 'The case has moved on' },
  payload_too_large: { status: 413, title: 'Request body too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  rule_violation: { status: 422, title: 'A rule refused the request' },
  idempotency_conflict: { status: 422, title: 'Idempotency-Key reused with another request' },
  rate_limited: { status: 429, title: 'Too many requests' },
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
  ) {
    super(detail);
    this.status = ERRORS[code].status;
  }
}

export const validationFailed = (errors: FieldError[], detail?: string) =>
  new AppError('validation_failed', detail ?? errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
export const forbidden = (detail: string) => new AppError('forbidden', detail);
export const ruleViolation = (rule: string, detail: string) => new AppError('rule_violation', detail, { rule });

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
