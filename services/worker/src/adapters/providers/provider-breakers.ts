import { addProviderBreakers, type CircuitBreakers, type ProviderBreakerConfig } from '@cupo/circuit-breakers';
import type { IncomingStudent } from '@cupo/contracts';
import { DependencyUnavailableError } from '@cupo/errors';
import { type Directory, type Lms, type Mailer, type ProviderCall, type StudentSource } from '../../app/onboarding/ports.js';
import { ProviderAwayError } from './http.js';

/** The outside providers, each behind its own breaker (named as ops lists it). */
export const PROVIDER_BREAKERS = {
  directory: 'directory provider',
  lms: 'LMS provider',
  email: 'mail provider',
  sis: 'student-information source',
} as const;
export type ProviderBreakerName = keyof typeof PROVIDER_BREAKERS;

/**
 * A provider's breaker is open: its work is put aside, not failed. A DependencyUnavailableError,
 * so it is transient everywhere — a workflow waits without spending an attempt and hands its
 * batch back; the job consumer re-queues the batch (or ingest) without counting an attempt and
 * never dead-letters it for this. `retryAfterMs` says when the breaker lets its trial call through.
 */
export class ProviderPausedError extends DependencyUnavailableError {
  constructor(
    readonly breaker: ProviderBreakerName,
    readonly retryAfterMs: number,
    cause?: unknown,
  ) {
    super(`${PROVIDER_BREAKERS[breaker]} (circuit open; paused for ${Math.ceil(retryAfterMs / 1000)} s)`, cause);
  }
}

/**
 * Adds `directory`, `lms`, `email` and `sis`. Only the provider being away counts against its
 * breaker (no connection, a timeout, 502/503/504: ProviderAwayError). A 429 is the provider
 * working (its limit), a refusal (4xx) is an answer, and a plain 500 may be one request's
 * problem (one student the provider chokes on): that workflow spends its attempts and fails
 * as before, without pausing everybody else's.
 */
export function addProviderBreakersTo(breakers: CircuitBreakers, config: ProviderBreakerConfig): CircuitBreakers {
  const isFailure = (error: Error) => error instanceof ProviderAwayError;
  return addProviderBreakers(
    breakers,
    config,
    Object.fromEntries(Object.entries(PROVIDER_BREAKERS).map(([name, dependency]) => [name, { dependency, isFailure }])),
  );
}

/** Throws ProviderPausedError while the breaker refuses calls. */
function refuseWhileOpen(breakers: CircuitBreakers, name: ProviderBreakerName): void {
  const ms = breakers.refusingFor(name);
  if (ms > 0) throw new ProviderPausedError(name, ms);
}

/** One request through the breaker: the failure that opens it is a pause too, not the workflow's failure. */
async function throughBreaker<T>(breakers: CircuitBreakers, name: ProviderBreakerName, request: () => Promise<T>): Promise<T> {
  try {
    return await breakers.run(name, request);
  } catch (error) {
    if (error instanceof ProviderPausedError) throw error;
    const ms = breakers.refusingFor(name);
    // Opened by this failure (or found open): the provider is known to be away.
    if (ms > 0 && (error instanceof ProviderAwayError || error instanceof DependencyUnavailableError)) {
      throw new ProviderPausedError(name, ms, error);
    }
    throw error;
  }
}

/**
 * Wraps a ProviderCall so every request goes through the provider's breaker. While it is open,
 * nothing is sent and no rate-limit slot is taken: the call is refused before it (and again
 * after the wait for its slot).
 */
export function guardedCall(breakers: CircuitBreakers, name: ProviderBreakerName, call: ProviderCall): ProviderCall {
  return async (operation, request) => {
    refuseWhileOpen(breakers, name);
    return call(operation, async () => {
      refuseWhileOpen(breakers, name);
      return throughBreaker(breakers, name, request);
    });
  };
}

/** The directory, each of its requests behind the `directory` breaker. */
export function guardedDirectory(directory: Directory, breakers: CircuitBreakers): Directory {
  return { ensureAccount: (student, call) => directory.ensureAccount(student, guardedCall(breakers, 'directory', call)) };
}

/** The LMS behind the `lms` breaker. */
export function guardedLms(lms: Lms, breakers: CircuitBreakers): Lms {
  return { ensureEnrolled: (student, call) => lms.ensureEnrolled(student, guardedCall(breakers, 'lms', call)) };
}

/** The mailer behind the `email` breaker. */
export function guardedMailer(mailer: Mailer, breakers: CircuitBreakers): Mailer {
  return {
    sendWelcome: (student: IncomingStudent, upn: string, call: ProviderCall) =>
      mailer.sendWelcome(student, upn, guardedCall(breakers, 'email', call)),
  };
}

/** The student-information source behind the `sis` breaker: an ingest waits while it is open. */
export function guardedSource(source: StudentSource, breakers: CircuitBreakers): StudentSource {
  return {
    fetchStudents: async () => {
      refuseWhileOpen(breakers, 'sis');
      return throughBreaker(breakers, 'sis', () => source.fetchStudents());
    },
  };
}
