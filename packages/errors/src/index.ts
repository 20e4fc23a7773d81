/**
 * The error vocabulary every service and transport shares.
 *
 * Domain code throws a {@link DomainError} with a kind and a stable code; each transport
 * maps the kind once (HTTP → status, RPC → reply envelope). Anything that is not a
 * DomainError is a bug or an infrastructure fault and is never shown to a client as-is.
 */

export type ErrorKind =
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'unprocessable'
  | 'rate_limited'
  | 'unavailable'
  | 'timeout'
  | 'internal';

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Seconds a client should wait before retrying (for `unavailable` and `rate_limited`). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** HTTP status for each kind: the one place this mapping lives. */
export const httpStatusByKind: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  rate_limited: 429,
  unavailable: 503,
  timeout: 504,
  internal: 500,
};

/** How a DomainError travels inside a message (RPC replies, recorded failures). */
export interface ErrorBody {
  kind: ErrorKind;
  code: string;
  detail: string;
  details?: Record<string, unknown>;
  retryAfterSeconds?: number;
}

export function toErrorBody(error: DomainError): ErrorBody {
  const body: ErrorBody = { kind: error.kind, code: error.code, detail: error.message };
  if (error.details !== undefined) body.details = error.details;
  if (error.retryAfterSeconds !== undefined) body.retryAfterSeconds = error.retryAfterSeconds;
  return body;
}

export function fromErrorBody(body: ErrorBody): DomainError {
  return new DomainError(body.kind, body.code, body.detail, body.details, body.retryAfterSeconds);
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}

/** A dependency (database, broker, cache, another service) could not serve the call. */
export class DependencyUnavailableError extends DomainError {
  constructor(dependency: string, cause?: unknown) {
    super('unavailable', 'DEPENDENCY_UNAVAILABLE', `${dependency} is unavailable`, { dependency }, 1);
    if (cause !== undefined) this.cause = cause;
  }
}

/** An `Idempotency-Key` sent again with a different request (422). */
export class IdempotencyKeyReusedError extends DomainError {
  constructor() {
    super(
      'unprocessable',
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was used with a different request; use a new key for a new request',
    );
  }
}
