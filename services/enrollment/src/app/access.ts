import type { Actor } from '@cupo/contracts';
import { NotYourEnrollmentError } from '../domain/errors.js';

/** A student sees and changes their own enrollments only; an admin sees everyone's. */
export function assertMayActFor(actor: Actor, studentId: string): void {
  if (actor.role === 'admin') return;
  if (actor.role !== 'student' || actor.id !== studentId) throw new NotYourEnrollmentError();
}
