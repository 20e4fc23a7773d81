import { z } from 'zod';
import { UserId } from './actor.js';
import { CreateStudentBody } from './enrollments.js';
import { PageRequest } from './pages.js';

const PositiveInt = z.number().int().positive().max(100_000);

/** `GET/PUT /api/admin/config`: no zero or negative sizes or rates. */
export const OnboardingConfig = z.strictObject({
  batch_size: PositiveInt,
  rate_limit_directory_per_min: PositiveInt,
  rate_limit_lms_per_min: PositiveInt,
  rate_limit_email_per_min: PositiveInt,
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
  stuck: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  parent_id: z.uuid().optional(),
});

export const OnboardingCommands = {
  ingest: 'worker.onboarding.ingest.v1',
  getConfig: 'worker.onboarding.get-config.v1',
  putConfig: 'worker.onboarding.put-config.v1',
  // v2: answers one page ({items, next}) instead of the newest 500.
  listTasks: 'worker.tasks.list.v2',
  getTask: 'worker.tasks.get.v1',
  retryTask: 'worker.tasks.retry.v1',
} as const;

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

// --- Following onboarding (the admin page reads these instead of walking the task tree) ---

/**
 * Where an ingest stands, as a person would say it: `queued` (not picked up yet), `reading`
 * (taking in the students), `onboarding` (workflows still to finish), `finished` (every batch
 * ended, some workflows may have failed) or `failed` (the ingest itself failed).
 */
export const IngestPhase = z.enum(['queued', 'reading', 'onboarding', 'finished', 'failed']);
export type IngestPhase = z.infer<typeof IngestPhase>;

export interface TaskCounts {
  total: number;
  pending: number;
  running: number;
  completed: number;
  failed: number;
}

/** `GET /api/admin/onboarding/{id}/progress`: one ingest and everything under it, counted in one query. */
export interface IngestProgress {
  task_id: string;
  phase: IngestPhase;
  source: string | null;
  /** Known once the ingest has read its students. */
  received: number | null;
  new: number | null;
  already_seen: number | null;
  batches: TaskCounts;
  workflows: TaskCounts & { with_warnings: number };
  error: string | null;
  created_at: string;
  /** When the last of its work ended; null while any is still to do. */
  finished_at: string | null;
}

/** `GET /api/admin/tasks/summary`: every task counted by type and status, and the stuck ones. */
export interface TaskSummary {
  ingest: TaskCounts;
  batch: TaskCounts;
  workflow: TaskCounts;
  stuck: number;
}

export const OnboardingProgressCommands = {
  progress: 'worker.onboarding.progress.v1',
  taskSummary: 'worker.tasks.summary.v1',
} as const;
export const IngestProgressCommand = z.object({ task_id: z.uuid() });
