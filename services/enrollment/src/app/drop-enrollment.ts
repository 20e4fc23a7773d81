import type { Actor, Enrollment } from '@cupo/contracts';
import { EnrollmentNotFoundError } from '../domain/errors.js';
import { assertMayActFor } from './access.js';
import type { CatalogStore } from './ports.js';

/**
 * Drops an active enrollment and gives its seat back. Dropping one that is already dropped
 * answers the same enrollment and frees nothing: a retried DELETE is harmless.
 */
export async function dropEnrollment(
  store: Pick<CatalogStore, 'findEnrollment' | 'dropEnrollment'>,
  enrollmentId: string,
  actor: Actor,
): Promise<Enrollment> {
  const existing = await store.findEnrollment(enrollmentId);
  if (!existing) throw new EnrollmentNotFoundError(enrollmentId);
  assertMayActFor(actor, existing.student_id);
  if (existing.status === 'dropped') return existing;
  const dropped = await store.dropEnrollment(enrollmentId);
  if (!dropped) throw new EnrollmentNotFoundError(enrollmentId);
  return dropped;
}
