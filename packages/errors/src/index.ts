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

/**
 * The call may well succeed if made again later: a dependency was away or did not answer in
 * time (`unavailable`, `timeout`). Nobody's input is at fault, so a job retries it without
 * using up an attempt; whether the work happened is unknown after a timeout, so only an
 * idempotent call may be repeated.
 */
export function isTransient(error: unknown): error is DomainError {
  return error instanceof DomainError && TRANSIENT.has(error.kind);
}

const TRANSIENT: ReadonlySet<ErrorKind> = new Set(['unavailable', 'timeout']);
const TRANSIENT_OR_FAULT: ReadonlySet<ErrorKind> = new Set([...TRANSIENT, 'internal']);

/**
 * A definite answer to the request: it is invalid, not allowed, names nothing, conflicts or
 * is refused for now (`rate_limited`). Asking the same again gets the same answer, so it is
 * the request's outcome — recorded, replayed, never retried.
 *
 * An error that is neither a refusal nor transient is a fault (a bug, or an infrastructure
 * failure nobody translated): logged in full and never shown to a client as-is.
 */
export function isRefusal(error: unknown): error is DomainError {
  return error instanceof DomainError && !TRANSIENT_OR_FAULT.has(error.kind);
}

/** The HTTP status of a domain error: by its kind, {@link httpStatusByKind}. */
export function httpStatusOf(error: DomainError): number {
  return httpStatusByKind[error.kind];
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
