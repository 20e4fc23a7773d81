import type { Actor, Enrollment } from '@cupo/contracts';
import { assertMayActFor } from './access.js';
import type { EnrollmentStore } from './ports.js';

export async function listStudentEnrollments(
  store: EnrollmentStore,
  studentId: string,
  actor: Actor,
  term?: string,
): Promise<Enrollment[]> {
  assertMayActFor(actor, studentId);
  return store.listStudentEnrollments(studentId, term);
}
