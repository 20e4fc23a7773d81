import type { IncomingStudent, IngestSchedule, OnboardingConfig, Page, PageRequest } from '@cupo/contracts';

export type TaskStatus = 'pending' | 'running' | 'completed' | 'failed';

export interface Task {
  id: string;
  type: 'ingest' | 'batch' | 'workflow';
  status: TaskStatus;
  parent_id: string | null;
  student_id: string | null;
  entity_count: number;
  details: Record<string, unknown>;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  stuck: boolean;
  /** An ingest the schedule fired. */
  scheduled: boolean;
}

/** The ingest schedule as the database holds it, with the database's clock. */
export interface ScheduleState {
  schedule: IngestSchedule | null;
  /** When the schedule was last changed: earlier slots are not its own. */
  since: Date;
  /** The latest slot fired since then, by any replica. */
  lastFired: Date | null;
  now: Date;
}

export interface TaskFilter {
  type?: string;
  status?: string;
  stuck?: boolean;
  parent_id?: string;
}

export interface WorkflowUnit {
  taskId: string;
  status: TaskStatus;
  student: IncomingStudent;
}

/** What a claim found: the task is now this run's, or it has ended, or another live run holds it. */
export type ClaimOutcome = { claimed: true; attempts: number } | { claimed: false; state: 'ended' | 'held' | 'missing' };

/** What claiming a one-off effect (the welcome e-mail) found. */
export type EffectClaim =
  /** Ours to do; `takeover` when an earlier owner claimed it and died before confirming. */
  | { state: 'claimed'; takeover: boolean }
  | { state: 'done'; externalId: string | null }
  /** Another live run is doing it now. */
  | { state: 'held' };

export interface OnboardingStore {
  getConfig(): Promise<OnboardingConfig>;
  /** Replaces the settings; without `ingest_schedule` the schedule stays as it is. */
  putConfig(config: OnboardingConfig): Promise<OnboardingConfig>;
  scheduleState(): Promise<ScheduleState>;
  /**
   * In one transaction, if `schedule` is still the configured one (set at or before `slot`) and
   * no replica has fired `slot` or a later slot yet: records the slot as fired and creates its ingest task
   * (marked scheduled) with its outbox message. Null otherwise: exactly one replica gets the task.
   */
  fireScheduledIngest(slot: Date, schedule: IngestSchedule, taskId: string, firedBy: string): Promise<Task | null>;
  /** Records an ingest task (its input kept in details) and its outbox message. */
  createIngest(taskId: string, input: { students?: IncomingStudent[]; requestedBy: string }): Promise<Task>;
  findTask(id: string): Promise<Task | undefined>;
  /** The students an ingest was given in its request, or null to pull them from the source. */
  ingestInput(ingestId: string): Promise<IncomingStudent[] | null>;
  /** Newest first, one page. */
  listTasks(filter: TaskFilter, page: PageRequest): Promise<Page<Task>>;
  /**
   * Claims a task for `owner` until `leaseMs` from now (counting an attempt): a pending task, a
   * running one whose lease has run out or that `owner` already holds. Never one that has ended
   * or that another live owner holds.
   */
  claim(taskId: string, owner: string, leaseMs: number): Promise<ClaimOutcome>;
  /**
   * The heartbeat: renews every lease `owner` holds (tasks and effect claims); false when
   * `owner` no longer holds `taskId` (another run took it over).
   */
  renew(taskId: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Gives a claimed task back (pending, lease free); `refund` un-counts the attempt. */
  release(taskId: string, owner: string, options: { refund: boolean; details?: Record<string, unknown> }): Promise<void>;
  /** Ends a task `owner` holds; false (and nothing changed) if it no longer holds it. */
  finish(taskId: string, owner: string, status: 'completed' | 'failed', details: Record<string, unknown>): Promise<boolean>;
  /** Ends a task that is not finished, whoever holds it (a job given up on). */
  fail(taskId: string, details: Record<string, unknown>): Promise<void>;
  /**
   * In one transaction: keeps the students not seen before, creates their workflow tasks in
   * batches of `batchSize` (and each batch's outbox message), and completes the ingest.
   * Safe to repeat: a student is new only once.
   */
  planIngest(
    ingestId: string,
    students: IncomingStudent[],
    batchSize: number,
  ): Promise<{ received: number; fresh: number; batches: string[] }>;
  batchWorkflows(batchId: string): Promise<WorkflowUnit[]>;
  /** Claims a one-off effect before doing it (see EffectClaim). */
  claimEffect(studentId: string, effect: string, owner: string, leaseMs: number): Promise<EffectClaim>;
  /** Records the effect as done (whoever holds the claim now: it happened). */
  confirmEffect(studentId: string, effect: string, externalId: string): Promise<void>;
  /** Drops `owner`'s claim on an effect it did not do, so the next run starts afresh. */
  releaseEffect(studentId: string, effect: string, owner: string): Promise<void>;
  /**
   * An admin's retry, in one transaction: a failed workflow goes back to pending with fresh
   * attempts (a batch: its failed workflows; an ingest: itself), and the batch or ingest that
   * runs it is reopened and announced again.
   */
  retry(taskId: string, requestedBy: string): Promise<{ retried: Task } | { missing: true } | { notRetryable: string }>;
  /**
   * Running ingests and batches whose lease ran out and heartbeat stopped: announced again (or
   * failed after `maxRequeues`). Pending ones nobody took for `staleMs` — their message was lost
   * (a purged or re-created queue) — are announced again too, at most once per `staleMs`.
   */
  reapStale(staleMs: number, maxRequeues: number): Promise<{ requeued: number; failed: number }>;
}

export type ProviderName = 'directory' | 'lms' | 'email';

/** Spaces calls to a provider so that no window holds more than its per-minute limit, across replicas. */
export interface RateLimiter {
  /** Reserves this caller's slot; returns how long to wait for it (ms). */
  reserve(provider: ProviderName, perMinute: number): Promise<number>;
}

export interface Directory {
  /** Finds the account by user principal name, or creates it and assigns the licence. */
  ensureAccount(student: IncomingStudent, call: ProviderCall): Promise<{ upn: string; created: boolean }>;
}
export interface Lms {
  /** Finds or creates the LMS user, then enrols it in the welcome course (idempotent at Moodle). */
  ensureEnrolled(student: IncomingStudent, call: ProviderCall): Promise<{ userId: number; created: boolean }>;
}
export interface Mailer {
  sendWelcome(student: IncomingStudent, upn: string, call: ProviderCall): Promise<{ messageId: string }>;
}
export interface StudentSource {
  fetchStudents(): Promise<IncomingStudent[]>;
}

/** Runs one provider request under its rate limit and retry rules. */
export type ProviderCall = <T>(operation: string, request: () => Promise<T>) => Promise<T>;

/** A provider's answer that says "slow down": retried after `retryAfterSeconds`. */
export class ProviderThrottledError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`throttled (retry after ${retryAfterSeconds}s)`);
  }
}
/** A provider's failure worth retrying (5xx, connection). */
export class ProviderUnavailableError extends Error {}
/** A provider's definitive refusal: not retried. */
export class ProviderRejectedError extends Error {}

export interface OnboardingMetrics {
  providerCall(provider: ProviderName, outcome: string): void;
  limiterWait(provider: ProviderName, ms: number): void;
  workflow(outcome: 'completed' | 'completed_with_warnings' | 'failed'): void;
  batch(seconds: number): void;
}
