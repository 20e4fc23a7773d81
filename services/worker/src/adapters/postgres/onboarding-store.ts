import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  OnboardingJobs,
  type IncomingStudent,
  type IngestSchedule,
  type OnboardingConfig,
  type Page,
  type PageRequest,
} from '@cupo/contracts';
import type { Fragment, Sql, TransactionSql } from '@cupo/database';
import { kickingAfterCommit, outboxHeaders, type OutboxKick } from '@cupo/outbox';
import { Keyset } from '@cupo/paging';
import type {
  ClaimOutcome,
  EffectClaim,
  OnboardingStore,
  ScheduleState,
  Task,
  TaskFilter,
  WorkflowUnit,
} from '../../app/onboarding/ports.js';

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
  scheduled: boolean;
}

/** An ingest the schedule fired carries its slot in details (tasks has no column for it). */
const SCHEDULED = 'scheduled_for';

interface ConfigRow {
  batch_size: number;
  rate_limit_directory_per_min: number;
  rate_limit_lms_per_min: number;
  rate_limit_email_per_min: number;
  ingest_cron: string | null;
  ingest_time_zone: string | null;
}
const toConfig = ({ ingest_cron, ingest_time_zone, ...rest }: ConfigRow): OnboardingConfig => ({
  ...rest,
  ingest_schedule: ingest_cron && ingest_time_zone ? { cron: ingest_cron, time_zone: ingest_time_zone } : null,
});

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

/** All of onboarding's SQL. A method that writes to the outbox wakes the relay after its commit. */
export class PostgresOnboardingStore implements OnboardingStore {
  constructor(
    private readonly sql: Sql,
    private readonly stuckSeconds: number,
    private readonly relay: OutboxKick,
  ) {}

  async getConfig(): Promise<OnboardingConfig> {
    const [row] = await this.sql<ConfigRow[]>`
      SELECT batch_size, rate_limit_directory_per_min, rate_limit_lms_per_min, rate_limit_email_per_min, ingest_cron, ingest_time_zone
      FROM onboarding_config`;
    return toConfig(row!);
  }

  async putConfig(config: OnboardingConfig): Promise<OnboardingConfig> {
    const sql = this.sql;
    // Absent: the schedule stays. A different one restarts `since`, so no slot before now fires.
    const schedule = config.ingest_schedule;
    const cron = schedule === undefined ? sql`ingest_cron` : sql`${schedule?.cron ?? null}::text`;
    const zone = schedule === undefined ? sql`ingest_time_zone` : sql`${schedule?.time_zone ?? null}::text`;
    const [row] = await sql<ConfigRow[]>`
      UPDATE onboarding_config
      SET batch_size = ${config.batch_size}, rate_limit_directory_per_min = ${config.rate_limit_directory_per_min},
          rate_limit_lms_per_min = ${config.rate_limit_lms_per_min}, rate_limit_email_per_min = ${config.rate_limit_email_per_min},
          ingest_cron = ${cron}, ingest_time_zone = ${zone},
          ingest_schedule_since = CASE WHEN (ingest_cron, ingest_time_zone) IS DISTINCT FROM (${cron}, ${zone})
                                       THEN now() ELSE ingest_schedule_since END,
          updated_at = now()
      RETURNING batch_size, rate_limit_directory_per_min, rate_limit_lms_per_min, rate_limit_email_per_min, ingest_cron, ingest_time_zone`;
    return toConfig(row!);
  }

  async scheduleState(): Promise<ScheduleState> {
    const [row] = await this.sql<
      { ingest_cron: string | null; ingest_time_zone: string | null; since: Date; last_fired: Date | null; now: Date }[]
    >`
      SELECT ingest_cron, ingest_time_zone, ingest_schedule_since AS since, now() AS now,
             (SELECT max(slot_at) FROM ingest_schedule_slots WHERE slot_at >= ingest_schedule_since) AS last_fired
      FROM onboarding_config`;
    const { ingest_cron: cron, ingest_time_zone: zone } = row!;
    return { schedule: cron && zone ? { cron, time_zone: zone } : null, since: row!.since, lastFired: row!.last_fired, now: row!.now };
  }

  async fireScheduledIngest(slot: Date, schedule: IngestSchedule, taskId: string, firedBy: string): Promise<Task | null> {
    return kickingAfterCommit(
      this.relay,
      () =>
        this.sql.begin(async (tx) => {
          // FOR SHARE: an admin's change waits for this transaction, and once it has committed no
          // replica fires a slot of the schedule it replaced.
          const [current] = await tx`
        SELECT 1 FROM onboarding_config
        WHERE ingest_cron = ${schedule.cron} AND ingest_time_zone = ${schedule.time_zone} AND ingest_schedule_since <= ${slot}
        FOR SHARE`;
          if (!current) return null;
          // The arbiter: one row per slot, whichever replica gets there first — and no slot older
          // than one of this schedule fired already (a replica that read the schedule before a slot
          // boundary and stalled past it would fire the older slot after the newer one: two ingests
          // back to back). Another schedule's slots do not count: this one may be older than them.
          const [taken] = await tx`
        INSERT INTO ingest_schedule_slots (slot_at, task_id, cron, time_zone)
        SELECT ${slot}, ${taskId}, ${schedule.cron}, ${schedule.time_zone}
        WHERE NOT EXISTS (
          SELECT FROM ingest_schedule_slots
          WHERE slot_at > ${slot} AND cron = ${schedule.cron} AND time_zone = ${schedule.time_zone})
        ON CONFLICT (slot_at) DO NOTHING
        RETURNING 1`;
          if (!taken) return null;
          const details = {
            source: 'student-information source',
            requested_by: 'schedule',
            [SCHEDULED]: slot.toISOString(),
            schedule,
            fired_by: firedBy,
          };
          const [row] = await tx<TaskRow[]>`
        INSERT INTO tasks (id, type, details) VALUES (${taskId}, 'ingest', ${json(tx, details)})
        RETURNING *, false AS stuck, true AS scheduled`;
          await this.announce(tx, 'ingest', taskId);
          return toTask(row!);
        }) as Promise<Task | null>,
      (task) => task !== null,
    );
  }

  private announce(tx: Sql | TransactionSql, kind: 'ingest' | 'batch', taskId: string) {
    return tx`
      INSERT INTO outbox (exchange, routing_key, payload, headers)
      VALUES (${OnboardingJobs.exchange}, ${OnboardingJobs.routingKey}, ${json(tx, { kind, task_id: taskId })}, ${json(tx, outboxHeaders())})`;
  }

  async createIngest(taskId: string, input: { students?: IncomingStudent[]; requestedBy: string }): Promise<Task> {
    return kickingAfterCommit(
      this.relay,
      () =>
        this.sql.begin(async (tx) => {
          const [row] = await tx<TaskRow[]>`
        INSERT INTO tasks (id, type, details)
        VALUES (${taskId}, 'ingest', ${json(tx, { source: input.students ? 'request' : 'student-information source', requested_by: input.requestedBy, input: input.students ?? null })})
        RETURNING *, false AS stuck, false AS scheduled`;
          await this.announce(tx, 'ingest', taskId);
          return toTask(row!);
        }) as Promise<Task>,
    );
  }

  private selectTasks(where: Fragment) {
    return this.sql<TaskRow[]>`
      SELECT id, type, status, parent_id, student_id, entity_count,
             details - 'input' AS details, created_at, started_at, finished_at,
             (status = 'running' AND started_at < now() - make_interval(secs => ${this.stuckSeconds})) AS stuck,
             details ? ${SCHEDULED} AS scheduled
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
             ${stuck} AS stuck, details ? ${SCHEDULED} AS scheduled,
             to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
      FROM tasks WHERE ${where}
      ORDER BY created_at DESC, id DESC LIMIT ${page.limit + 1}`;
    return TASKS.page(
      rows,
      page.limit,
      (row) => [row.cursor_at, row.id],
      ({ cursor_at: _key, ...row }) => toTask(row),
    );
  }

  async claim(taskId: string, owner: string, leaseMs: number): Promise<ClaimOutcome> {
    // The outer SELECT reads the row as it was before the UPDATE: it tells an ended task from
    // one another owner holds when the claim did not take.
    const [row] = await this.sql<{ attempts: number | null; status: Task['status'] | null }[]>`
      WITH claimed AS (
        UPDATE tasks
        SET status = 'running', owner = ${owner}, lease_until = now() + make_interval(secs => ${leaseMs / 1000}),
            heartbeat_at = now(), started_at = COALESCE(started_at, now()), attempts = attempts + 1
        WHERE id = ${taskId}
          AND (status = 'pending'
               OR (status = 'running' AND (owner IS NULL OR owner = ${owner} OR lease_until IS NULL OR lease_until < now())))
        RETURNING attempts
      )
      SELECT (SELECT attempts FROM claimed) AS attempts, (SELECT status FROM tasks WHERE id = ${taskId}) AS status`;
    if (row?.attempts != null) return { claimed: true, attempts: row.attempts };
    if (!row?.status) return { claimed: false, state: 'missing' };
    return { claimed: false, state: row.status === 'completed' || row.status === 'failed' ? 'ended' : 'held' };
  }

  async renew(taskId: string, owner: string, leaseMs: number): Promise<boolean> {
    const lease = this.sql`now() + make_interval(secs => ${leaseMs / 1000})`;
    const [row] = await this.sql<{ held: boolean }[]>`
      WITH tasks_renewed AS (
        UPDATE tasks SET lease_until = ${lease}, heartbeat_at = now()
        WHERE owner = ${owner} AND status = 'running'
        RETURNING id
      ), effects_renewed AS (
        UPDATE provider_effects SET lease_until = ${lease} WHERE owner = ${owner} AND status = 'claimed'
      )
      SELECT EXISTS (SELECT 1 FROM tasks_renewed WHERE id = ${taskId}) AS held`;
    return row!.held;
  }

  async release(taskId: string, owner: string, options: { refund: boolean; details?: Record<string, unknown> }): Promise<void> {
    await this.sql`
      UPDATE tasks
      SET status = 'pending', owner = NULL, lease_until = NULL,
          attempts = GREATEST(0, attempts - ${options.refund ? 1 : 0}),
          details = details || ${json(this.sql, options.details ?? {})}
      WHERE id = ${taskId} AND owner = ${owner} AND status = 'running'`;
  }

  async finish(taskId: string, owner: string, status: 'completed' | 'failed', details: Record<string, unknown>): Promise<boolean> {
    const result = await this.sql`
      UPDATE tasks SET status = ${status}, details = (details - 'last_error') || ${json(this.sql, details)}, finished_at = now(),
             owner = NULL, lease_until = NULL
      WHERE id = ${taskId} AND owner = ${owner} AND status = 'running'`;
    return result.count > 0;
  }

  async fail(taskId: string, details: Record<string, unknown>): Promise<void> {
    await this.sql`
      UPDATE tasks SET status = 'failed', details = details || ${json(this.sql, details)}, finished_at = now(),
             owner = NULL, lease_until = NULL
      WHERE id = ${taskId} AND status IN ('pending', 'running')`;
  }

  async planIngest(ingestId: string, students: IncomingStudent[], batchSize: number) {
    let announced = false;
    const plan = (await this.sql.begin(async (tx) => {
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
            SELECT * FROM jsonb_to_recordset(${json(
              tx,
              planned.map((p) => ({ student_id: p.id, name: p.name, email: p.email, workflow_task_id: p.task })),
            )})
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
        UPDATE tasks SET status = 'completed', finished_at = now(), owner = NULL, lease_until = NULL, entity_count = ${newcomers.length},
               details = (details - 'input') || ${json(tx, summary)}
        WHERE id = ${ingestId}`;
      announced = batches.length > 0;
      return { received: students.length, fresh: newcomers.length, batches };
    })) as { received: number; fresh: number; batches: string[] };
    // After the commit: the batches' messages leave now, not at the relay's next poll.
    if (announced) this.relay.kick();
    return plan;
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

  async claimEffect(studentId: string, effect: string, owner: string, leaseMs: number): Promise<EffectClaim> {
    // `before` is the row as it was: it says whose unconfirmed claim (if any) this one took over.
    const [row] = await this.sql<{ claimed: boolean; status: string | null; previous_owner: string | null; external_id: string | null }[]>`
      WITH before AS (
        SELECT status, owner, external_id FROM provider_effects WHERE student_id = ${studentId} AND effect = ${effect}
      ), claimed AS (
        INSERT INTO provider_effects (student_id, effect, status, owner, lease_until, done_at)
        VALUES (${studentId}, ${effect}, 'claimed', ${owner}, now() + make_interval(secs => ${leaseMs / 1000}), NULL)
        ON CONFLICT (student_id, effect) DO UPDATE
          SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until, claims = provider_effects.claims + 1
          WHERE provider_effects.status = 'claimed'
            AND (provider_effects.owner IS NULL OR provider_effects.owner = EXCLUDED.owner OR provider_effects.lease_until < now())
        RETURNING 1
      )
      SELECT EXISTS (SELECT 1 FROM claimed) AS claimed, b.status, b.owner AS previous_owner, b.external_id
      FROM (SELECT 1) AS one LEFT JOIN before AS b ON true`;
    if (row!.claimed)
      return { state: 'claimed', takeover: row!.status === 'claimed' && row!.previous_owner !== null && row!.previous_owner !== owner };
    if (row!.status === 'done') return { state: 'done', externalId: row!.external_id };
    return { state: 'held' };
  }

  async confirmEffect(studentId: string, effect: string, externalId: string): Promise<void> {
    await this.sql`
      INSERT INTO provider_effects (student_id, effect, status, external_id, done_at)
      VALUES (${studentId}, ${effect}, 'done', ${externalId}, now())
      ON CONFLICT (student_id, effect) DO UPDATE
        SET status = 'done', external_id = EXCLUDED.external_id, done_at = now(), owner = NULL, lease_until = NULL
        WHERE provider_effects.status = 'claimed'`;
  }

  async releaseEffect(studentId: string, effect: string, owner: string): Promise<void> {
    await this.sql`
      DELETE FROM provider_effects WHERE student_id = ${studentId} AND effect = ${effect} AND status = 'claimed' AND owner = ${owner}`;
  }

  async retry(taskId: string, requestedBy: string) {
    return kickingAfterCommit(
      this.relay,
      () =>
        this.sql.begin(async (tx) => {
          const [task] = await tx<{ type: Task['type']; status: Task['status']; parent_id: string | null }[]>`
        SELECT type, status, parent_id FROM tasks WHERE id = ${taskId} FOR UPDATE`;
          if (!task) return { missing: true as const };
          const stamp = json(tx, { retried_at: new Date().toISOString(), retried_by: requestedBy });
          // Back to pending with fresh attempts; the last run's verdict goes, its history stays in the logs.
          const reopen = (where: Fragment) => tx`
        UPDATE tasks SET status = 'pending', attempts = 0, owner = NULL, lease_until = NULL, finished_at = NULL,
               details = (details - 'errors' - 'warnings' - 'steps' - 'last_error' - 'error' - 'requeues') || ${stamp}
                         || jsonb_build_object('admin_retries', COALESCE((details->>'admin_retries')::int, 0) + 1)
        ${where}`;
          let announce: { kind: 'ingest' | 'batch'; id: string } | undefined;
          if (task.type === 'workflow') {
            if (task.status !== 'failed') return { notRetryable: `it is ${task.status}, not failed` };
            await reopen(tx`WHERE id = ${taskId}`);
            // Its batch runs it: a batch that has ended is reopened and announced; one still
            // running comes round to it before it ends.
            const [batch] = await tx<{ status: Task['status'] }[]>`SELECT status FROM tasks WHERE id = ${task.parent_id} FOR UPDATE`;
            if (batch && (batch.status === 'completed' || batch.status === 'failed')) {
              await reopen(tx`WHERE id = ${task.parent_id}`);
              announce = { kind: 'batch', id: task.parent_id! };
            }
          } else if (task.type === 'batch') {
            const reopened = await reopen(tx`WHERE parent_id = ${taskId} AND type = 'workflow' AND status = 'failed'`);
            if (reopened.count === 0 && task.status !== 'failed') return { notRetryable: 'it has no failed workflow and has not failed' };
            if (task.status === 'completed' || task.status === 'failed') await reopen(tx`WHERE id = ${taskId}`);
            announce = { kind: 'batch', id: taskId };
          } else {
            if (task.status !== 'failed') return { notRetryable: `it is ${task.status}, not failed` };
            await reopen(tx`WHERE id = ${taskId}`);
            announce = { kind: 'ingest', id: taskId };
          }
          if (announce) await this.announce(tx, announce.kind, announce.id);
          const [row] = await tx<TaskRow[]>`
        SELECT id, type, status, parent_id, student_id, entity_count, details - 'input' AS details,
               created_at, started_at, finished_at, false AS stuck, details ? ${SCHEDULED} AS scheduled
        FROM tasks WHERE id = ${taskId}`;
          return { retried: toTask(row!) };
        }) as Promise<{ retried: Task } | { missing: true } | { notRetryable: string }>,
      (outcome) => 'retried' in outcome,
    );
  }

  async reapStale(staleMs: number, maxRequeues: number) {
    return kickingAfterCommit(
      this.relay,
      () =>
        this.sql.begin(async (tx) => {
          const stale = await tx<{ id: string; type: 'ingest' | 'batch'; requeues: number }[]>`
        SELECT id, type, COALESCE((details->>'requeues')::int, 0) AS requeues FROM tasks
        WHERE status = 'running' AND type IN ('ingest', 'batch')
          AND (lease_until IS NULL OR lease_until < now())
          AND heartbeat_at < now() - make_interval(secs => ${staleMs / 1000})
        FOR UPDATE SKIP LOCKED LIMIT 50`;
          let requeued = 0;
          let failed = 0;
          for (const task of stale) {
            if (task.requeues >= maxRequeues) {
              await tx`UPDATE tasks SET status = 'failed', finished_at = now(), owner = NULL, lease_until = NULL,
                     details = details || ${json(tx, { error: `no progress after ${maxRequeues} re-queues` })} WHERE id = ${task.id}`;
              failed += 1;
            } else {
              await tx`UPDATE tasks SET heartbeat_at = now(), details = details || ${json(tx, { requeues: task.requeues + 1 })} WHERE id = ${task.id}`;
              await this.announce(tx, task.type, task.id);
              requeued += 1;
            }
          }
          // Never taken at all: its announcement is gone. `heartbeat_at` records each re-announcement,
          // so a long backlog gets one extra message per stale window, not one per pass.
          const unclaimed = await tx<{ id: string; type: 'ingest' | 'batch' }[]>`
        UPDATE tasks SET heartbeat_at = now()
        WHERE id IN (
          SELECT id FROM tasks
          WHERE status = 'pending' AND type IN ('ingest', 'batch')
            AND COALESCE(heartbeat_at, created_at) < now() - make_interval(secs => ${staleMs / 1000})
          ORDER BY created_at
          LIMIT 50
          FOR UPDATE SKIP LOCKED)
        RETURNING id, type`;
          for (const task of unclaimed) {
            await this.announce(tx, task.type, task.id);
            requeued += 1;
          }
          return { requeued, failed };
        }) as Promise<{ requeued: number; failed: number }>,
      (reaped) => reaped.requeued > 0,
    );
  }
}
