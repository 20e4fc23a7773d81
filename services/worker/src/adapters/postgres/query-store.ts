import { WorkerJobs, type QueryRequestBody } from '@cupo/contracts';
import type { Sql } from '@cupo/database';
import type { QueryRecord, QueryStore } from '../../app/ports.js';

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
});

const json = (sql: Sql, value: unknown) => sql.json(value as Parameters<Sql['json']>[0]);

/** All of the worker's query SQL. */
export class PostgresQueryStore implements QueryStore {
  constructor(private readonly sql: Sql) {}

  async submit(id: string, query: QueryRequestBody, requestedBy: string, requestId: string): Promise<QueryRecord> {
    const [row] = await this.sql<Row[]>`
      WITH query AS (
        INSERT INTO queries (id, type, params, requested_by)
        VALUES (${id}, ${query.type}, ${json(this.sql, query.params)}, ${requestedBy})
        RETURNING *
      ), announced AS (
        INSERT INTO outbox (exchange, routing_key, payload, headers)
        SELECT ${WorkerJobs.exchange}, ${WorkerJobs.queryRequested}, jsonb_build_object('query_id', id),
               ${json(this.sql, { 'x-request-id': requestId })}
        FROM query
      )
      SELECT * FROM query`;
    return toRecord(row!);
  }

  async find(id: string): Promise<QueryRecord | undefined> {
    const [row] = await this.sql<Row[]>`SELECT * FROM queries WHERE id = ${id}`;
    return row ? toRecord(row) : undefined;
  }

  async complete(id: string, outcome: { result: unknown } | { error: { code: string; detail: string } }, ttlSeconds: number) {
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

  async purgeExpired(): Promise<number> {
    return (await this.sql`DELETE FROM queries WHERE expires_at < now()`).count;
  }

  async requeueStale(staleMs: number): Promise<number> {
    const rows = await this.sql`
      WITH stale AS (
        SELECT id FROM queries
        WHERE status = 'pending' AND created_at < now() - make_interval(secs => ${staleMs / 1000})
          AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.payload->>'query_id' = queries.id::text)
        LIMIT 200
      )
      INSERT INTO outbox (exchange, routing_key, payload)
      SELECT ${WorkerJobs.exchange}, ${WorkerJobs.queryRequested}, jsonb_build_object('query_id', id) FROM stale
      RETURNING id`;
    return rows.count;
  }
}
