import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { OnboardingJobs, type IncomingStudent, type OnboardingConfig, type Page, type PageRequest } from '@cupo/contracts';
import type { Sql, TransactionSql } from '@cupo/database';
import { Keyset } from '@cupo/paging';
import type { OnboardingStore, Task, TaskFilter, WorkflowUnit } from '../../app/onboarding/ports.js';

interface TaskRow {
  id: string;
  type: Task['type'];
  status: Task['status'];
  parent_id: string | null;
  student_id: string | null;
  entity_count: number;
  details: Record<string, unknown>;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  stuck: boolean;
}

/**
 * Tasks newest first by (created_at, id), created_at to PostgreSQL's microsecond: read with
 * to_char and sent back as text, as a Date (porsager's timestamptz parameters) would round it.
 */
const TASKS = new Keyset('tasks', z.tuple([z.iso.datetime({ precision: 6 }), z.uuid()]));

const toTask = (row: TaskRow): Task => ({
  ...row,
  created_at: row.created_at.toISOString(),
  started_at: row.started_at?.toISOString() ?? null,
  finished_at: row.finished_at?.toISOString() ?? null,
});
const json = (sql: Sql | TransactionSql, value: unknown) => sql.json(value as Parameters<Sql['json']>[0]);

/** All of onboarding's SQL. */
export class PostgresOnboardingStore implements OnboardingStore {
  constructor(
    private readonly sql: Sql,
    private readonly stuckSeconds: number,
  ) {}

  async getConfig(): Promise<OnboardingConfig> {
    const [row] = await this.sql<OnboardingConfig[]>`
      SELECT batch_size, rate_limit_directory_per_min, rate_limit_lms_per_min, rate_limit_email_per_min FROM onboarding_config`;
    return row!;
  }

  async putConfig(config: OnboardingConfig): Promise<OnboardingConfig> {
    const [row] = await this.sql<OnboardingConfig[]>`
      UPDATE onboarding_config
      SET batch_size = ${config.batch_size}, rate_limit_directory_per_min = ${config.rate_limit_directory_per_min},
          rate_limit_lms_per_min = ${config.rate_limit_lms_per_min}, rate_limit_email_per_min = ${config.rate_limit_email_per_min},
          updated_at = now()
      RETURNING batch_size, rate_limit_directory_per_min, rate_limit_lms_per_min, rate_limit_email_per_min`;
    return row!;
  }

  private announce(tx: Sql | TransactionSql, kind: 'ingest' | 'batch', taskId: string) {
    return tx`
      INSERT INTO outbox (exchange, routing_key, payload)
      VALUES (${OnboardingJobs.exchange}, ${OnboardingJobs.routingKey}, ${json(tx, { kind, task_id: taskId })})`;
  }

  async createIngest(taskId: string, input: { students?: IncomingStudent[]; requestedBy: string }): Promise<Task> {
    return this.sql.begin(async (tx) => {
      const [row] = await tx<TaskRow[]>`
        INSERT INTO tasks (id, type, details)
        VALUES (${taskId}, 'ingest', ${json(tx, { source: input.students ? 'request' : 'student-information source', requested_by: input.requestedBy, input: input.students ?? null })})
        RETURNING *, false AS stuck`;
      await this.announce(tx, 'ingest', taskId);
      return toTask(row!);
    }) as Promise<Task>;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private selectTasks(where: any) {
    return this.sql<TaskRow[]>`
      SELECT id, type, status, parent_id, student_id, entity_count,
             details - 'input' AS details, created_at, started_at, finished_at,
             (status = 'running' AND started_at < now() - make_interval(secs => ${this.stuckSeconds})) AS stuck
      FROM tasks ${where}`;
  }

  async findTask(id: string): Promise<Task | undefined> {
    const [row] = await this.selectTasks(this.sql`WHERE id = ${id}`);
    return row ? toTask(row) : undefined;
  }

  /** Newest first by (created_at, id); every filter has an index in that order (tasks-list-pages migration). */
  async listTasks(filter: TaskFilter, page: PageRequest): Promise<Page<Task>> {
    const sql = this.sql;
    const after = TASKS.decode(page.cursor);
    // IS TRUE: a running task not yet stamped started_at is not stuck (and not NULL, which NOT would drop).
    const stuck = sql`(status = 'running' AND started_at < now() - make_interval(secs => ${this.stuckSeconds})) IS TRUE`;
    const conditions = [
      filter.type ? sql`type = ${filter.type}` : undefined,
      filter.status ? sql`status = ${filter.status}` : undefined,
      filter.parent_id ? sql`parent_id = ${filter.parent_id}` : undefined,
      filter.stuck === true ? stuck : undefined,
      filter.stuck === false ? sql`NOT ${stuck}` : undefined,
      after ? sql`(created_at, id) < (${after[0]}::text::timestamptz, ${after[1]}::uuid)` : undefined,
    ].filter((c) => c !== undefined);
    const where = conditions.reduce((all, c) => sql`${all} AND ${c}`, sql`true`);
    const rows = await this.sql<(TaskRow & { cursor_at: string })[]>`
      SELECT id, type, status, parent_id, student_id, entity_count,
             details - 'input' AS details, created_at, started_at, finished_at,
             ${stuck} AS stuck,
             to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
      FROM tasks WHERE ${where}
      ORDER BY created_at DESC, id DESC LIMIT ${page.limit + 1}`;
    return TASKS.page(rows, page.limit, (row) => [row.cursor_at, row.id], ({ cursor_at: _key, ...row }) => toTask(row));
  }

  async start(taskId: string): Promise<boolean> {
    const rows = await this.sql`
      UPDATE tasks SET status = 'running', started_at = COALESCE(started_at, now()), heartbeat_at = now()
      WHERE id = ${taskId} AND status IN ('pending', 'running')
      RETURNING id`;
    return rows.count > 0;
  }

  async heartbeat(taskId: string): Promise<void> {
    await this.sql`UPDATE tasks SET heartbeat_at = now() WHERE id = ${taskId} AND status = 'running'`;
  }

  async finish(taskId: string, status: 'completed' | 'failed', details: Record<string, unknown>, entityCount?: number): Promise<void> {
    await this.sql`
      UPDATE tasks SET status = ${status}, details = details || ${json(this.sql, details)}, finished_at = now(),
             entity_count = COALESCE(${entityCount ?? null}, entity_count)
      WHERE id = ${taskId} AND status IN ('pending', 'running')`;
  }

  async planIngest(ingestId: string, students: IncomingStudent[], batchSize: number) {
    return this.sql.begin(async (tx) => {
      const [ingest] = await tx<{ status: string; details: Record<string, unknown> }[]>`
        SELECT status, details FROM tasks WHERE id = ${ingestId} FOR UPDATE`;
      if (!ingest || ingest.status === 'completed' || ingest.status === 'failed') {
        const d = ingest?.details ?? {};
        return { received: Number(d.received ?? 0), fresh: Number(d.new ?? 0), batches: (d.batches as string[]) ?? [] };
      }
      // One workflow task per student not seen before; the primary key decides who is new.
      const unique = [...new Map(students.map((s) => [s.id, s])).values()];
      const planned = unique.map((student) => ({ ...student, task: randomUUID() }));
      const fresh = planned.length
        ? await tx<{ student_id: string }[]>`
            INSERT INTO onboarded_students (student_id, name, email, workflow_task_id)
            SELECT * FROM jsonb_to_recordset(${json(tx, planned.map((p) => ({ student_id: p.id, name: p.name, email: p.email, workflow_task_id: p.task })))})
              AS x(student_id text, name text, email text, workflow_task_id uuid)
            ON CONFLICT (student_id) DO NOTHING
            RETURNING student_id`
        : [];
      const freshIds = new Set(fresh.map((r) => r.student_id));
      const newcomers = planned.filter((p) => freshIds.has(p.id));
      const batches: string[] = [];
      for (let i = 0; i < newcomers.length; i += batchSize) {
        const members = newcomers.slice(i, i + batchSize);
        const batchId = randomUUID();
        batches.push(batchId);
        await tx`
          INSERT INTO tasks (id, type, parent_id, entity_count, details)
          VALUES (${batchId}, 'batch', ${ingestId}, ${members.length}, ${json(tx, { index: batches.length, students: members.map((m) => m.id) })})`;
        await tx`
          INSERT INTO tasks (id, type, parent_id, student_id, entity_count, details)
          SELECT task, 'workflow', ${batchId}, id, 1, jsonb_build_object('student', jsonb_build_object('id', id, 'name', name, 'email', email))
          FROM jsonb_to_recordset(${json(tx, members)}) AS x(id text, name text, email text, task uuid)`;
        await this.announce(tx, 'batch', batchId);
      }
      const summary = { received: students.length, new: newcomers.length, already_seen: unique.length - newcomers.length, batches };
      await tx`
        UPDATE tasks SET status = 'completed', finished_at = now(), entity_count = ${newcomers.length},
               details = (details - 'input') || ${json(tx, summary)}
        WHERE id = ${ingestId}`;
      return { received: students.length, fresh: newcomers.length, batches };
    }) as Promise<{ received: number; fresh: number; batches: string[] }>;
  }

  async ingestInput(ingestId: string): Promise<IncomingStudent[] | null> {
    const [row] = await this.sql<{ input: IncomingStudent[] | null }[]>`SELECT details->'input' AS input FROM tasks WHERE id = ${ingestId}`;
    return row?.input ?? null;
  }

  async batchWorkflows(batchId: string): Promise<WorkflowUnit[]> {
    const rows = await this.sql<{ id: string; status: WorkflowUnit['status']; student: IncomingStudent }[]>`
      SELECT id, status, details->'student' AS student FROM tasks WHERE parent_id = ${batchId} AND type = 'workflow' ORDER BY student_id`;
    return rows.map((r) => ({ taskId: r.id, status: r.status, student: r.student }));
  }

  async effectDone(studentId: string, effect: string): Promise<string | undefined> {
    const [row] = await this.sql<{ external_id: string }[]>`
      SELECT external_id FROM provider_effects WHERE student_id = ${studentId} AND effect = ${effect}`;
    return row?.external_id;
  }

  async recordEffect(studentId: string, effect: string, externalId: string): Promise<void> {
    await this.sql`
      INSERT INTO provider_effects (student_id, effect, external_id) VALUES (${studentId}, ${effect}, ${externalId})
      ON CONFLICT DO NOTHING`;
  }

  async reapStale(staleMs: number, maxRequeues: number) {
    return this.sql.begin(async (tx) => {
      const stale = await tx<{ id: string; type: 'ingest' | 'batch'; requeues: number }[]>`
        SELECT id, type, COALESCE((details->>'requeues')::int, 0) AS requeues FROM tasks
        WHERE status = 'running' AND type IN ('ingest', 'batch')
          AND heartbeat_at < now() - make_interval(secs => ${staleMs / 1000})
        FOR UPDATE SKIP LOCKED LIMIT 50`;
      let requeued = 0;
      let failed = 0;
      for (const task of stale) {
        if (task.requeues >= maxRequeues) {
          await tx`UPDATE tasks SET status = 'failed', finished_at = now(),
                     details = details || ${json(tx, { error: `no progress after ${maxRequeues} re-queues` })} WHERE id = ${task.id}`;
          failed += 1;
        } else {
          await tx`UPDATE tasks SET heartbeat_at = now(), details = details || ${json(tx, { requeues: task.requeues + 1 })} WHERE id = ${task.id}`;
          await this.announce(tx, task.type, task.id);
          requeued += 1;
        }
      }
      return { requeued, failed };
    }) as Promise<{ requeued: number; failed: number }>;
  }
}
