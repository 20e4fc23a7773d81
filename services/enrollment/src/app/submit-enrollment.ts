import { randomUUID } from 'node:crypto';
import type { SubmitEnrollmentCommand } from '@cupo/contracts';
import { IdempotencyKeyReusedError } from '@cupo/errors';
import type { EnrollmentMetrics, SagaStore, SubmittedResponse } from './ports.js';

export interface SubmitDeps {
  store: SagaStore;
  metrics: EnrollmentMetrics;
  keyTtlSeconds: number;
}

/**
 * Records the request, its idempotency key and the "process it" message in one statement.
 * The 202 is sent only after that commit: from then on the request is certain to be
 * processed (the outbox relay, which the store wakes after its commit, publishes the
 * message; the recovery sweep re-announces a
 * request whose message went missing).
 */
export async function submitEnrollment(
  deps: SubmitDeps,
  command: SubmitEnrollmentCommand,
  requestId: string,
): Promise<{ response: SubmittedResponse; replayed: boolean }> {
  const id = randomUUID();
  const outcome = await deps.store.submit({
    id,
    studentId: command.student_id,
    term: command.term,
    sections: command.sections,
    idempotencyKey: command.idempotency_key,
    derivedKey: command.derived_key,
    fingerprint: command.fingerprint,
    keyTtlSeconds: deps.keyTtlSeconds,
    requestId,
    response: { request_id: id, status: 'queued', status_url: `/api/enrollments/requests/${id}` },
  });
  deps.metrics.submitted(outcome.kind);
  if (outcome.kind === 'key_reused') throw new IdempotencyKeyReusedError();
  return { response: outcome.response, replayed: outcome.kind === 'replayed' };
}
