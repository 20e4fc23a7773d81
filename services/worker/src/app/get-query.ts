import type { Actor, QueryView } from '@cupo/contracts';
import { NotYourQueryError, QueryNotFoundError } from '../domain/errors.js';
import type { QueryStore } from './ports.js';

export async function getQuery(store: QueryStore, id: string, actor: Actor): Promise<QueryView> {
  const record = await store.find(id);
  if (!record) throw new QueryNotFoundError(id);
  if (actor.role !== 'admin' && actor.id !== record.requested_by) throw new NotYourQueryError();
  const { requested_by: _owner, deadline_at: _deadline, ...view } = record;
  return view;
}
