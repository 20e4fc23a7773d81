import type { Sql } from '@cupo/database';
import type { FinishedSagaPurger } from '../../app/purge-finished-sagas.js';

/**
 * One batch of the automatic saga cleanup: the oldest `limit` finished sagas whose end is older
 * than the retention, found by a range scan of `sagas_finished` (partial index on finished_at)
 * and deleted by primary key (`= ANY(ARRAY(…))`: an `IN (…)` join may hash the whole table
 * against the batch once the planner thinks that cheaper). SKIP LOCKED lets replicas purge side by side without waiting on each other, and
 * never on a saga a step holds. Only sagas are removed: the request keeps its own outcome.
 */
export const PURGE_FINISHED_SAGAS_BATCH = (sql: Sql, retentionSeconds: number, limit: number) => sql<{ status: string }[]>`
  DELETE FROM sagas WHERE id = ANY(ARRAY(
    SELECT id FROM sagas
    WHERE status IN ('completed', 'compensated', 'failed')
      AND finished_at < now() - make_interval(secs => ${retentionSeconds})
    ORDER BY finished_at
    LIMIT ${limit}
    FOR UPDATE SKIP LOCKED))
  RETURNING status`;

export class PostgresFinishedSagaPurger implements FinishedSagaPurger {
  constructor(private readonly sql: Sql) {}

  async purgeBatch(retentionSeconds: number, limit: number): Promise<Record<string, number>> {
    const rows = await PURGE_FINISHED_SAGAS_BATCH(this.sql, retentionSeconds, limit);
    const byStatus: Record<string, number> = {};
    for (const row of rows) byStatus[row.status] = (byStatus[row.status] ?? 0) + 1;
    return byStatus;
  }
}
