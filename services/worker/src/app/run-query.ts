import { QueryRequestBody } from '@cupo/contracts';
import { DomainError } from '@cupo/errors';
import type { QueryMetrics, QueryStore, ReportSources } from './ports.js';

export interface RunQueryDeps {
  store: QueryStore;
  sources: ReportSources;
  metrics: QueryMetrics;
  resultTtlSeconds: number;
}

/**
 * Computes one query and stores its outcome. Idempotent: a redelivered message finds the
 * query answered and does nothing. A refusal from the data's owner (SECTION_NOT_FOUND, …) is
 * the query's outcome (`failed` with that error); anything else throws, and the consumer
 * retries with backoff, then dead-letters and fails the query.
 */
export async function runQuery(deps: RunQueryDeps, id: string, requestId: string): Promise<void> {
  const record = await deps.store.find(id);
  if (!record || record.status !== 'pending') return;
  const query = QueryRequestBody.parse({ type: record.type, params: record.params });
  let outcome: { result: unknown } | { error: { code: string; detail: string } };
  try {
    outcome = { result: await deps.sources.compute(query, requestId) };
  } catch (error) {
    if (!(error instanceof DomainError) || error.kind === 'unavailable' || error.kind === 'timeout' || error.kind === 'internal') throw error;
    outcome = { error: { code: error.code, detail: error.message } };
  }
  if (await deps.store.complete(id, outcome, deps.resultTtlSeconds)) {
    const seconds = (Date.now() - Date.parse(record.created_at)) / 1000;
    deps.metrics.finished(record.type, 'result' in outcome ? 'completed' : 'failed', seconds);
  }
}

/** The consumer's last attempt failed: the query ends `failed` with the reason. */
export async function failQuery(deps: RunQueryDeps, id: string, attempts: number, cause: string): Promise<void> {
  const record = await deps.store.find(id);
  if (!record) return;
  const detail = `Processing failed ${attempts} times; gave up. Last error: ${cause}`;
  if (await deps.store.complete(id, { error: { code: 'PROCESSING_FAILED', detail } }, deps.resultTtlSeconds)) {
    deps.metrics.finished(record.type, 'failed', (Date.now() - Date.parse(record.created_at)) / 1000);
  }
}
