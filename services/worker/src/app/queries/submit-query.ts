import { randomUUID } from 'node:crypto';
import type { Actor, QueryRequestBody } from '@cupo/contracts';
import { assertMayAsk } from '../../domain/query-access.js';
import type { QueryStore } from './ports.js';

/** Records the query and its message together; `202` follows only that commit. Refused reports are never recorded. */
export async function submitQuery(
  deps: { store: QueryStore; deadlineMs: number },
  query: QueryRequestBody,
  actor: Actor,
  requestId: string,
) {
  assertMayAsk(actor, query.type);
  const record = await deps.store.submit(randomUUID(), query, actor.id, requestId, deps.deadlineMs);
  return { query_id: record.query_id, status: record.status, status_url: `/api/queries/${record.query_id}` };
}
