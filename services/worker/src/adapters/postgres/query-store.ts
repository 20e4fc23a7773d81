import { WorkerJobs, type QueryRequestBody } from '@cupo/contracts';
import { inBatches, type Sql } from '@cupo/database';
import { outboxHeaders, type OutboxKick } from '@cupo/outbox';
import type { QueryOutcome, QueryRecord, QueryStore } from '../../app/queries/ports.js';

interface Row {
  id: string;
  type: string;
  params: unknown;
  requested_by: string;
  status: QueryRecord['status'];
  result: unknown;
  error: { code: string; detail: string } | null;
  created_at: Date;
  processed_at: Date | null;
  deadline_at: Date;
}

const toRecord = (row: Row): QueryRecord => ({
  query_id: row.id,
  type: row.type,
  status: row.status,
  params: row.params,
  requested_by: row.requested_by,
  ...(row.status === 'completed' ? { result: row.result } : {}),
  ...(row.error ? { error: row.error } : {}),
  created_at: row.created_at.toISOString(),
  ...(row.processed_at ? { processed_at: row.processed_at.toISOString() } : {}),
  deadline_at: row.deadline_at.toISOString(),
});

/** Expired answers deleted per statement, and statements per maintenance pass. */
const PURGE_BATCH = 1_000;
const PURGE_MAX_BATCHES = 10;
/** Overdue queries ended per statement, and statements per maintenance pass. */
const OVERDUE_BATCH = 500;
const OVERDUE_MAX_BATCHES = 10;

const json = (sql: Sql, value: unknown) => sql.json(value as Parameters<Sql['json']>[0]);

/** All of the worker's query SQL. A method that writes to the outbox wakes the relay after its commit. */
export class PostgresQueryStore implements QueryStore {
  constructor(
    private readonly sql: Sql,
    private readonly relay: OutboxKick,
  ) {}

  async submit(id: string, query: QueryRequestBody, requestedBy: string, requestId: string, deadlineMs: number): Promise<QueryRecord> {
    const [row] = await this.sql<Row[]>`
      WITH query AS (
        INSERT INTO queries (id, type, params, requested_by, deadline_at)
        VALUES (${id}, ${query.type}, ${json(this.sql, query.params)}, ${requestedBy}, now() + make_interval(secs => ${deadlineMs / 1000}))
        RETURNING *
      ), announced AS (
        INSERT INTO outbox (exchange, routing_key, payload, headers)
        SELECT ${WorkerJobs.exchange}, ${WorkerJobs.queryRequested}, jsonb_build_object('query_id', id),
               ${json(this.sql, outboxHeaders({ 'x-request-id': requestId }))}
        FROM query
      )
      SELECT * FROM query`;
    this.relay.kick();
    return toRecord(row!);
  }

  async find(id: string): Promise<QueryRecord | undefined> {
    const [row] = await this.sql<Row[]>`SELECT * FROM queries WHERE id = ${id}`;
    return row ? toRecord(row) : undefined;
  }

  async complete(id: string, outcome: QueryOutcome, ttlSeconds: number) {
    const ok = 'result' in outcome;
    const result = await this.sql`
      UPDATE queries
      SET status = ${ok ? 'completed' : 'failed'},
          result = ${ok ? json(this.sql, outcome.result) : null},
          error = ${ok ? null : json(this.sql, outcome.error)},
          processed_at = now(), expires_at = now() + make_interval(secs => ${ttlSeconds})
      WHERE id = ${id} AND status = 'pending'`;
    return result.count > 0;
  }

  /**
   * Deletes answers past their lifetime oldest first, `batch` a statement (a range scan of
   * queries_expiry, then by primary key; SKIP LOCKED keeps replicas apart), at most `maxBatches` a pass: a pass costs
   * the same however many have piled up (a worker away for a day), and the next goes on.
   */
  async purgeExpired(batch = PURGE_BATCH, maxBatches = PURGE_MAX_BATCHES): Promise<number> {
    const { rows } = await inBatches({ size: batch, maxBatches }, async () => {
      const result = await this.sql`
        DELETE FROM queries WHERE id = ANY(ARRAY(
          SELECT id FROM queries WHERE expires_at < now() ORDER BY expires_at LIMIT ${batch} FOR UPDATE SKIP LOCKED))`;
      return result.count;
    });
    return rows;
  }

  /**
   * Ends pending queries past their deadline, oldest first, `batch` a statement and at most
   * `maxBatches` a pass (a backlog after an outage, however large, is not one statement).
   */
  async failOverdue(error: { code: string; detail: string }, ttlSeconds: number, batch = OVERDUE_BATCH, maxBatches = OVERDUE_MAX_BATCHES) {
    const ended: { type: string; created_at: string }[] = [];
    await inBatches({ size: batch, maxBatches }, async () => {
      const rows = await this.sql<{ type: string; created_at: Date }[]>`
        UPDATE queries
        SET status = 'failed', error = ${json(this.sql, error)}, processed_at = now(),
            expires_at = now() + make_interval(secs => ${ttlSeconds})
        WHERE id = ANY(ARRAY(
          SELECT id FROM queries WHERE status = 'pending' AND deadline_at <= now()
          ORDER BY created_at LIMIT ${batch} FOR UPDATE SKIP LOCKED))
          AND status = 'pending'
        RETURNING type, created_at`;
      for (const r of rows) ended.push({ type: r.type, created_at: r.created_at.toISOString() });
      return rows.length;
    });
    return ended;
  }

  async requeueStale(staleMs: number): Promise<number> {
    // Measured from the last announcement, not from creation: a query whose message is still
    // circling (its owner is away) gets one more per `staleMs`, not one per sweep. SKIP LOCKED
    // keeps two replicas' sweeps from announcing the same query together.
    const rows = await this.sql`
      WITH stale AS (
        SELECT id FROM queries
        WHERE status = 'pending' AND deadline_at > now()
          AND announced_at < now() - make_interval(secs => ${staleMs / 1000})
          AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.payload->>'query_id' = queries.id::text)
        ORDER BY announced_at
        LIMIT 200
        FOR UPDATE SKIP LOCKED
      ), announced AS (
        UPDATE queries q SET announced_at = now() FROM stale WHERE q.id = stale.id RETURNING q.id
      )
      INSERT INTO outbox (exchange, routing_key, payload)
      SELECT ${WorkerJobs.exchange}, ${WorkerJobs.queryRequested}, jsonb_build_object('query_id', id) FROM announced
      RETURNING id`;
    if (rows.count > 0) this.relay.kick();
    return rows.count;
  }
}
