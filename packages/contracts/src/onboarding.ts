import { z } from 'zod';
import { UserId } from './actor.js';
import { CreateStudentBody } from './enrollments.js';
import { PageRequest, pageOf } from './pages.js';
import { NoParameters, accepted, rpcCommand } from './rpc.js';

const PositiveInt = z.number().int().positive().max(100_000);

/** An IANA time zone name this runtime knows (`Europe/Madrid`, `UTC`). */
const TimeZone = z
  .string()
  .min(1)
  .max(64)
  .refine((zone) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone name, such as Europe/Madrid or UTC');

/**
 * When the worker ingests from the student-information source on its own: a cron expression
 * (5 fields, or 6 with seconds first) read in `time_zone`. The worker checks the expression
 * itself (400 VALIDATION_FAILED when it cannot be parsed).
 */
export const IngestSchedule = z.strictObject({
  cron: z.string().trim().min(1).max(120),
  time_zone: TimeZone,
});
export type IngestSchedule = z.infer<typeof IngestSchedule>;

/**
 * `GET/PUT /api/admin/config`: no zero or negative sizes or rates. `ingest_schedule` is null
 * when off; a PUT without it leaves the schedule as it is.
 */
export const OnboardingConfig = z.strictObject({
  batch_size: PositiveInt,
  rate_limit_directory_per_min: PositiveInt,
  rate_limit_lms_per_min: PositiveInt,
  rate_limit_email_per_min: PositiveInt,
  ingest_schedule: IngestSchedule.nullable().optional(),
});
export type OnboardingConfig = z.infer<typeof OnboardingConfig>;

/** A student as onboarding receives one: the same record an admin creates by hand. */
export const IncomingStudent = CreateStudentBody;
export type IncomingStudent = CreateStudentBody;

/** Without `students`, the worker pulls them from the student-information source. */
/** The most students one ingest may carry in its body (the source has no such bound). */
export const MAX_INGEST_STUDENTS = 10_000;

export const IngestBody = z.strictObject({ students: z.array(IncomingStudent).min(1).max(MAX_INGEST_STUDENTS).optional() });

export const TaskType = z.enum(['ingest', 'batch', 'workflow']);
export const TaskStatus = z.enum(['pending', 'running', 'completed', 'failed']);
export const TasksQuery = z.strictObject({
  type: TaskType.optional(),
  status: TaskStatus.optional(),
  stuck: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  parent_id: z.uuid().optional(),
});

export const OnboardingJobs = {
  exchange: 'cupo.jobs',
  routingKey: 'worker.onboarding.v1',
  queue: 'worker.onboarding',
} as const;
export const OnboardingMessage = z.object({ kind: z.enum(['ingest', 'batch']), task_id: z.uuid() });

export const IngestCommand = z.object({
  students: z.array(IncomingStudent).min(1).max(MAX_INGEST_STUDENTS).optional(),
  requested_by: UserId,
});
export const ListTasksCommand = z.object({
  type: TaskType.optional(),
  status: TaskStatus.optional(),
  stuck: z.boolean().optional(),
  parent_id: z.uuid().optional(),
  page: PageRequest,
});
export const GetTaskCommand = z.object({ task_id: z.uuid() });
/** An admin runs a failed task again: a workflow, a batch's failed workflows, or an ingest. */
export const RetryTaskCommand = z.object({ task_id: z.uuid(), requested_by: z.string() });

/** A task as admins see it (an ingest's input stays in the worker). */
export const Task = z.object({
  id: z.uuid(),
  type: TaskType,
  status: TaskStatus,
  parent_id: z.string().nullable(),
  student_id: z.string().nullable(),
  entity_count: z.number().int(),
  details: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  stuck: z.boolean(),
  /** An ingest the schedule fired (its slot is in `details.scheduled_for`), not an admin. */
  scheduled: z.boolean().default(false),
});
export type Task = z.infer<typeof Task>;

/** `POST /api/admin/onboarding/ingest` answers 202 with this. */
export const IngestAccepted = accepted('task_id', TaskStatus);

export const IngestStudents = rpcCommand('worker.onboarding.ingest.v1', IngestCommand, IngestAccepted);
// v2: the config carries the ingest schedule. The worker answers v1 too (without it), so a
// gateway of the previous version keeps working during a rolling upgrade: its strict schema
// would refuse an answer with a field it does not know.
export const GetOnboardingConfig = rpcCommand('worker.onboarding.get-config.v2', NoParameters, OnboardingConfig);
export const PutOnboardingConfig = rpcCommand('worker.onboarding.put-config.v2', OnboardingConfig, OnboardingConfig);
/** The settings without the schedule, as the previous version's gateway sends and reads them. */
export const OnboardingConfigV1 = OnboardingConfig.omit({ ingest_schedule: true });
export const GetOnboardingConfigV1 = rpcCommand('worker.onboarding.get-config.v1', NoParameters, OnboardingConfigV1);
export const PutOnboardingConfigV1 = rpcCommand('worker.onboarding.put-config.v1', OnboardingConfigV1, OnboardingConfigV1);
// v2: answers one page ({items, next}) instead of the newest 500.
export const ListTasks = rpcCommand('worker.tasks.list.v2', ListTasksCommand, pageOf(Task));
export const GetTask = rpcCommand('worker.tasks.get.v1', GetTaskCommand, Task);
export const RetryTask = rpcCommand('worker.tasks.retry.v1', RetryTaskCommand, z.object({ task: Task, status_url: z.string() }));

// --- Following onboarding (the admin page reads these instead of walking the task tree) ---

/**
 * Where an ingest stands, as a person would say it: `queued` (not picked up yet), `reading`
 * (taking in the students), `onboarding` (workflows still to finish), `finished` (every batch
 * ended, some workflows may have failed) or `failed` (the ingest itself failed).
 */
export const IngestPhase = z.enum(['queued', 'reading', 'onboarding', 'finished', 'failed']);
export type IngestPhase = z.infer<typeof IngestPhase>;

export const TaskCounts = z.object({
  total: z.number().int(),
  pending: z.number().int(),
  running: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
});
export type TaskCounts = z.infer<typeof TaskCounts>;

/** `GET /api/admin/onboarding/{id}/progress`: one ingest and everything under it, counted in one query. */
export const IngestProgress = z.object({
  task_id: z.uuid(),
  phase: IngestPhase,
  source: z.string().nullable(),
  /** Known once the ingest has read its students. */
  received: z.number().int().nullable(),
  new: z.number().int().nullable(),
  already_seen: z.number().int().nullable(),
  batches: TaskCounts,
  workflows: TaskCounts.extend({ with_warnings: z.number().int() }),
  error: z.string().nullable(),
  created_at: z.string(),
  /** When the last of its work ended; null while any is still to do. */
  finished_at: z.string().nullable(),
});
export type IngestProgress = z.infer<typeof IngestProgress>;

/** `GET /api/admin/tasks/summary`: every task counted by type and status, and the stuck ones. */
export const TaskSummary = z.object({
  ingest: TaskCounts,
  batch: TaskCounts,
  workflow: TaskCounts,
  stuck: z.number().int(),
});
export type TaskSummary = z.infer<typeof TaskSummary>;

export const IngestProgressCommand = z.object({ task_id: z.uuid() });
export const GetIngestProgress = rpcCommand('worker.onboarding.progress.v1', IngestProgressCommand, IngestProgress);
export const GetTaskSummary = rpcCommand('worker.tasks.summary.v1', NoParameters, TaskSummary);
