import type { Actor, Enrollment, Page, PageRequest } from '@cupo/contracts';
import { assertMayActFor } from './access.js';
import type { CatalogStore } from './ports.js';

export async function listStudentEnrollments(
  store: Pick<CatalogStore, 'listStudentEnrollments'>,
  studentId: string,
  actor: Actor,
  term: string | undefined,
  page: PageRequest,
): Promise<Page<Enrollment>> {
  assertMayActFor(actor, studentId);
  return store.listStudentEnrollments(studentId, term, page);
}
