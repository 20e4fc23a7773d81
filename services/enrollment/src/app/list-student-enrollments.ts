import type { Actor, Enrollment, Page, PageRequest } from '@cupo/contracts';
import { assertMayActFor } from './access.js';
import type { EnrollmentStore } from './ports.js';

export async function listStudentEnrollments(
  store: EnrollmentStore,
  studentId: string,
  actor: Actor,
  term: string | undefined,
  page: PageRequest,
): Promise<Page<Enrollment>> {
  assertMayActFor(actor, studentId);
  return store.listStudentEnrollments(studentId, term, page);
}
