import type { TaskCounts, TaskSummary } from '@cupo/contracts';
import type { Sql } from '@cupo/database';
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

  async taskSummary(): Promise<TaskSummary> {
    const rows = await this.sql<{ type: keyof Omit<TaskSummary, 'stuck'>; counts: TaskCounts; stuck: number }[]>`
      SELECT type, ${this.counted()} AS counts,
             count(*) FILTER (WHERE status = 'running' AND started_at < now() - make_interval(secs => ${this.stuckSeconds}))::int AS stuck
      FROM tasks GROUP BY type`;
    const none: TaskCounts = { total: 0, pending: 0, running: 0, completed: 0, failed: 0 };
    const of = (type: keyof Omit<TaskSummary, 'stuck'>) => rows.find((row) => row.type === type)?.counts ?? none;
    return {
      ingest: of('ingest'),
      batch: of('batch'),
      workflow: of('workflow'),
      stuck: rows.reduce((sum, row) => sum + row.stuck, 0),
    };
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
