import type { QueryRequestBody } from '@cupo/contracts';
import type { Logger } from '@cupo/service-kit';
import { pino } from 'pino';
import type { QueryOutcome, QueryRecord, QueryStore } from '../app/queries/ports.js';

/**
 * In-memory stand-ins for the worker's ports, for the use cases' unit tests: the rules the
 * use cases rely on (an answer stored once, a deadline), over plain maps. Not built into dist.
 */
export class InMemoryQueryStore implements QueryStore {
  readonly queries = new Map<string, QueryRecord & { request_id: string; ttl?: number }>();
  /** Outbox messages written with the queries (one per submit). */
  readonly outbox: { query_id: string; request_id: string }[] = [];
  /** When set, every call throws it (the database is away). */
  failWith: Error | undefined;

  private check(): void {
    if (this.failWith) throw this.failWith;
  }

  async submit(id: string, query: QueryRequestBody, requestedBy: string, requestId: string, deadlineMs: number): Promise<QueryRecord> {
    this.check();
    const now = Date.now();
    const record = {
      query_id: id,
      type: query.type,
      status: 'pending' as const,
      params: query.params,
      created_at: new Date(now).toISOString(),
      requested_by: requestedBy,
      deadline_at: new Date(now + deadlineMs).toISOString(),
    };
    this.queries.set(id, { ...record, request_id: requestId });
    this.outbox.push({ query_id: id, request_id: requestId });
    return record;
  }

  async find(id: string): Promise<QueryRecord | undefined> {
    this.check();
    const found = this.queries.get(id);
    if (!found) return undefined;
    const { request_id: _r, ttl: _t, ...record } = found;
    return record;
  }

  async complete(id: string, outcome: QueryOutcome, ttlSeconds: number): Promise<boolean> {
    this.check();
    const q = this.queries.get(id);
    if (!q || q.status !== 'pending') return false;
    Object.assign(q, 'result' in outcome ? { status: 'completed', result: outcome.result } : { status: 'failed', error: outcome.error });
    Object.assign(q, { processed_at: new Date().toISOString(), ttl: ttlSeconds });
    return true;
  }

  async failOverdue(error: { code: string; detail: string }, ttlSeconds: number) {
    this.check();
    const ended = [...this.queries.values()].filter((q) => q.status === 'pending' && Date.parse(q.deadline_at) <= Date.now());
    for (const q of ended) Object.assign(q, { status: 'failed', error, processed_at: new Date().toISOString(), ttl: ttlSeconds });
    return ended.map((q) => ({ type: q.type, created_at: q.created_at }));
  }

  async purgeExpired(): Promise<number> {
    return 0;
  }

  async requeueStale(): Promise<number> {
    return 0;
  }

  /** Moves a query's deadline (to make it overdue). */
  setDeadline(id: string, at: Date): void {
    this.queries.get(id)!.deadline_at = at.toISOString();
  }
}

/** A logger that writes nowhere. */
export const silentLogger: Logger = pino({ level: 'silent' });
