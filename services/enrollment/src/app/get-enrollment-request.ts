import type { Actor, EnrollmentRequestView } from '@cupo/contracts';
import { RequestNotFoundError } from '../domain/errors.js';
import { sectionOutcomes, type Saga } from '../domain/saga.js';
import { assertMayActFor } from './access.js';
import type { RequestRecord, SagaStore } from './ports.js';

export async function getEnrollmentRequest(
  store: Pick<SagaStore, 'findRequest'>,
  requestId: string,
  actor: Actor,
): Promise<EnrollmentRequestView> {
  const found = await store.findRequest(requestId);
  if (!found) throw new RequestNotFoundError(requestId);
  assertMayActFor(actor, found.request.studentId);
  return requestView(found.request, found.saga);
}

/** A request as its student sees it: where it stands, and each section's seat in words of the contract. */
export function requestView(request: RequestRecord, saga: Saga | undefined): EnrollmentRequestView {
  // A purged saga leaves only the request's own outcome to go by.
  const sections =
    saga || request.status === 'queued' || request.status === 'processing'
      ? sectionOutcomes(request.sections, saga)
      : request.sections.map((code) => ({
          code,
          status: request.status === 'completed' ? ('enrolled' as const) : ('not_attempted' as const),
        }));
  return {
    request_id: request.id,
    student_id: request.studentId,
    term: request.term,
    status: request.status,
    sections,
    ...(request.error ? { error: request.error } : {}),
    accepted_at: request.acceptedAt.toISOString(),
    ...(request.finishedAt ? { finished_at: request.finishedAt.toISOString() } : {}),
  };
}
