import type { Actor, QueryView } from '@cupo/contracts';
import { QueryNotFoundError } from '../../domain/errors.js';
import { assertMayRead } from '../../domain/query-access.js';
import type { QueryStore } from './ports.js';

export async function getQuery(store: QueryStore, id: string, actor: Actor): Promise<QueryView> {
  const record = await store.find(id);
  if (!record) throw new QueryNotFoundError(id);
  assertMayRead(actor, record);
  const { requested_by: _owner, deadline_at: _deadline, ...view } = record;
  return view;
}
