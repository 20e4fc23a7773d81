import type { Actor, QueryType } from '@cupo/contracts';
import { NotYourQueryError, ReportForbiddenError } from './errors.js';

/**
 * Reports that show people's personal data. A roster lists students' names and e-mails: only
 * admins may ask for one or read one. Occupancy and room search show only what the public
 * availability calendar already shows (nights on sale and free per room), so any signed-in
 * user may ask for them.
 */
const ADMIN_ONLY: ReadonlySet<QueryType> = new Set<QueryType>(['section_roster']);

/** Checked before a query is recorded: a refused report is never computed. */
export function assertMayAsk(actor: Actor, type: QueryType): void {
  if (ADMIN_ONLY.has(type) && actor.role !== 'admin') throw new ReportForbiddenError(type);
}

/**
 * A query is read by whoever asked it, or an admin. The report's own rule is checked again
 * on reading: a roster asked for while the rule was looser, or by someone no longer an admin,
 * stays unreadable.
 */
export function assertMayRead(actor: Actor, query: { type: string; requested_by: string }): void {
  if (actor.role === 'admin') return;
  if (actor.id !== query.requested_by) throw new NotYourQueryError();
  if (ADMIN_ONLY.has(query.type as QueryType)) throw new ReportForbiddenError(query.type);
}
