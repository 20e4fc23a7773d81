import { QueryRequestBody } from '@cupo/contracts';
import { isRefusal } from '@cupo/errors';
import type { QueryMetrics, QueryOutcome, QueryStore, ReportSources } from './ports.js';

export interface RunQueryDeps {
  store: QueryStore;
  sources: ReportSources;
  metrics: QueryMetrics;
  resultTtlSeconds: number;
  /** The longest one ask of an owner may take (never past the query's deadline). */
  sourceTimeoutMs: number;
}

const QUERY_DEADLINE_EXCEEDED = 'QUERY_DEADLINE_EXCEEDED';

/**
 * Computes one query and stores its outcome. Idempotent: a redelivered message finds the
 * query answered and does nothing. A refusal from the data's owner (SECTION_NOT_FOUND, …) is
 * the query's outcome (`failed` with that error); anything else throws, and the consumer
 * retries with backoff, then dead-letters and fails the query.
 *
 * An owner that is away is retried without using up attempts, so the query's deadline is what
 * ends it: the owner is never given longer than the time left, and a query whose time is up
 * ends `failed` (QUERY_DEADLINE_EXCEEDED) with the last reason, instead of circling forever.
 */
export async function runQuery(deps: RunQueryDeps, id: string, requestId: string): Promise<void> {
  const record = await deps.store.find(id);
  if (!record || record.status !== 'pending') return;
  const left = () => Date.parse(record.deadline_at) - Date.now();
  if (left() <= 0) return finish(deps, id, record, overdue('it was not answered in time'));
  const query = QueryRequestBody.parse({ type: record.type, params: record.params });
  let outcome: QueryOutcome;
  try {
    outcome = { result: await deps.sources.compute(query, { requestId, timeoutMs: Math.max(1, Math.min(deps.sourceTimeoutMs, left())) }) };
  } catch (error) {
    if (isRefusal(error)) outcome = { error: { code: error.code, detail: error.message } };
    else if (left() <= 0) outcome = overdue(`last: ${error instanceof Error ? error.message : String(error)}`);
    else throw error;
  }
  await finish(deps, id, record, outcome);
}

/** The consumer's last attempt failed: the query ends `failed` with the reason. */
export async function failQuery(deps: RunQueryDeps, id: string, attempts: number, cause: string): Promise<void> {
  const record = await deps.store.find(id);
  if (!record) return;
  const detail = `Processing failed ${attempts} times; gave up. Last error: ${cause}`;
  await finish(deps, id, record, { error: { code: 'PROCESSING_FAILED', detail } });
}

/**
 * The sweep's share: pending queries past their deadline end `failed`, even when no message
 * for them is left anywhere (a worker died holding the last one). Returns how many.
 */
export async function expireQueries(deps: RunQueryDeps): Promise<number> {
  const ended = await deps.store.failOverdue(overdue('no answer arrived in time').error, deps.resultTtlSeconds);
  for (const q of ended) deps.metrics.finished(q.type, 'failed', (Date.now() - Date.parse(q.created_at)) / 1000);
  return ended.length;
}

function overdue(why: string): { error: { code: string; detail: string } } {
  return { error: { code: QUERY_DEADLINE_EXCEEDED, detail: `The query passed its deadline; ${why}` } };
}

async function finish(deps: RunQueryDeps, id: string, record: { type: string; created_at: string }, outcome: QueryOutcome): Promise<void> {
  if (await deps.store.complete(id, outcome, deps.resultTtlSeconds)) {
    deps.metrics.finished(record.type, 'result' in outcome ? 'completed' : 'failed', (Date.now() - Date.parse(record.created_at)) / 1000);
  }
}
