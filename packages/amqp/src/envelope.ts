import { DomainError, type ErrorBody, isDomainError, toErrorBody } from '@cupo/errors';

/** What an RPC reply carries: a result, or an error the caller can map again. */
export type RpcReply<T = unknown> = { ok: true; result: T } | { ok: false; error: ErrorBody };

export const HEADER_REQUEST_ID = 'x-request-id';
export const HEADER_DEADLINE = 'x-deadline';

/** The exchange every RPC command is published to, routed by command name. */
export const RPC_EXCHANGE = 'cupo.rpc';

export function errorReply(error: unknown): RpcReply<never> {
  if (isDomainError(error)) return { ok: false, error: toErrorBody(error) };
  return {
    ok: false,
    error: { kind: 'internal', code: 'INTERNAL_ERROR', detail: 'The service failed unexpectedly' },
  };
}

export class RpcTimeoutError extends DomainError {
  constructor(command: string, timeoutMs: number) {
    super('timeout', 'UPSTREAM_TIMEOUT', `No answer to ${command} within ${timeoutMs} ms`, {
      command,
    });
  }
}

/** No handler for the command here (a replica older than its caller, or a misrouted message). */
export class UnknownCommandError extends DomainError {
  constructor(command: string) {
    super('invalid', 'UNKNOWN_COMMAND', `Unknown command ${command}`);
  }
}

/** The command's payload does not match its schema: refused before any handler runs. */
export class PayloadInvalidError extends DomainError {
  constructor(errors: { path: string; message: string }[]) {
    super('invalid', 'VALIDATION_FAILED', 'The command payload is invalid', { errors });
  }
}

/** A reply that does not match its command's reply schema: the server and its caller disagree on the contract. */
export class ReplyInvalidError extends DomainError {
  constructor(command: string) {
    super('internal', 'INVALID_REPLY', `The reply to ${command} does not match its contract`, { command });
  }
}

export class RpcUnroutableError extends DomainError {
  constructor(command: string) {
    super('unavailable', 'SERVICE_UNAVAILABLE', `No service is serving ${command}`, { command }, 1);
  }
}

/** RPC latency buckets: sub-millisecond round trips up to the longest deadlines. */
export const RPC_LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
