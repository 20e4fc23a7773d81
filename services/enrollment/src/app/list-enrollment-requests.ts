import type { Actor, EnrollmentRequestView, RequestStatus, RequestsFilter } from '@cupo/contracts';
import { assertMayActFor } from './access.js';
import { requestView } from './get-enrollment-request.js';
import type { SagaStore } from './ports.js';

const OPEN: readonly RequestStatus[] = ['queued', 'processing'];

/**
 * The caller's own requests, newest first: a student who left a page while a request was
 * queued finds it again (and its live status) wherever they come back, on any device.
 */
export async function listEnrollmentRequests(
  store: Pick<SagaStore, 'listStudentRequests'>,
  actor: Actor,
  filter: RequestsFilter | undefined,
  page: { limit: number; cursor?: string },
): Promise<{ items: EnrollmentRequestView[]; next?: string }> {
  assertMayActFor(actor, actor.id);
  const statuses = filter === undefined ? undefined : filter === 'open' ? OPEN : [filter];
  const found = await store.listStudentRequests(actor.id, statuses, page);
  return { ...found, items: found.items.map(({ request, saga }) => requestView(request, saga)) };
}
