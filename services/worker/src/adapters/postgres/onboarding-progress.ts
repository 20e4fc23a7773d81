import type { TaskCounts, TaskSummary } from '@cupo/contracts';
import { foldStatusCounts, type Sql } from '@cupo/database';
import type { IngestTree, OnboardingProgressReader } from '../../app/onboarding/ingest-progress.js';
import type { TaskStatus } from '../../app/onboarding/ports.js';

interface TreeRow {
  id: string;
  status: TaskStatus;
  details: Record<string, unknown>;
  created_at: Date;
  batches: TaskCounts;
  workflows: TaskCounts & { with_warnings: number };
  last_finished_at: Date | null;
}

/**
 * Counting reads for admins following onboarding. Each is one statement: a page that shows
 * an ingest's progress every second costs one query a second, however many batches and
 * workflows the ingest has (both levels are reached through tasks_children).
 */
export class PostgresOnboardingProgress implements OnboardingProgressReader {
  constructor(
    private readonly sql: Sql,
    private readonly stuckSeconds: number,
  ) {}

  async ingestTree(taskId: string): Promise<IngestTree | undefined> {
    const [row] = await this.sql<TreeRow[]>`
      WITH ingest AS (
        SELECT id, status, details - 'input' AS details, created_at, finished_at
        FROM tasks WHERE id = ${taskId} AND type = 'ingest'
      ), batches AS (
        SELECT id, status, finished_at FROM tasks
        WHERE parent_id = ${taskId} AND type = 'batch' AND EXISTS (SELECT FROM ingest)
      ), workflows AS (
        SELECT status, finished_at,
               jsonb_typeof(details->'warnings') = 'array' AND jsonb_array_length(details->'warnings') > 0 AS warned
        FROM tasks WHERE parent_id IN (SELECT id FROM batches) AND type = 'workflow'
      )
      SELECT i.id, i.status, i.details, i.created_at,
             (SELECT ${this.counted()} FROM batches) AS batches,
             (SELECT ${this.counted()} || jsonb_build_object('with_warnings', count(*) FILTER (WHERE warned))
              FROM workflows) AS workflows,
             GREATEST(i.finished_at, (SELECT max(finished_at) FROM batches), (SELECT max(finished_at) FROM workflows))
               AS last_finished_at
      FROM ingest i`;
    if (!row) return undefined;
    return {
      taskId: row.id,
      status: row.status,
      details: row.details,
      createdAt: row.created_at.toISOString(),
      batches: row.batches,
      workflows: row.workflows,
      lastFinishedAt: row.last_finished_at?.toISOString() ?? null,
    };
  }

  /**
   * Tasks by type and status from the counts the triggers keep (migration
   * 1737100000000_task-counts.sql): totals plus the deltas not folded yet, exact, at a cost that
   * does not grow with history. Stuck tasks are running ones, read through tasks_running.
   */
  async taskSummary(): Promise<TaskSummary> {
    await this.foldCounts();
    const [counts, [stuck]] = await Promise.all([
      this.sql<{ item: string; n: number }[]>`
        SELECT item, sum(n)::int AS n
        FROM (SELECT item, n FROM status_totals UNION ALL SELECT item, n FROM status_deltas) c
        GROUP BY item`,
      this.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM tasks
        WHERE status = 'running' AND started_at < now() - make_interval(secs => ${this.stuckSeconds})`,
    ]);
    const of = (type: keyof Omit<TaskSummary, 'stuck'>): TaskCounts => {
      const n = (status: string) => counts.find((row) => row.item === `${type}.${status}`)?.n ?? 0;
      const byStatus = { pending: n('pending'), running: n('running'), completed: n('completed'), failed: n('failed') };
      return { total: byStatus.pending + byStatus.running + byStatus.completed + byStatus.failed, ...byStatus };
    };
    return { ingest: of('ingest'), batch: of('batch'), workflow: of('workflow'), stuck: stuck?.n ?? 0 };
  }

  /** Folds the deltas the triggers appended into the totals (see foldStatusCounts). */
  foldCounts(): Promise<number> {
    return foldStatusCounts(this.sql);
  }

  /** The status counts of the rows in scope, as a JSON object. */
  private counted() {
    return this.sql`jsonb_build_object(
      'total', count(*),
      'pending', count(*) FILTER (WHERE status = 'pending'),
      'running', count(*) FILTER (WHERE status = 'running'),
      'completed', count(*) FILTER (WHERE status = 'completed'),
      'failed', count(*) FILTER (WHERE status = 'failed'))`;
  }
}
