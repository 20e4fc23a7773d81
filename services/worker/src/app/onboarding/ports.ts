import type { IncomingStudent, OnboardingConfig, Page, PageRequest } from '@cupo/contracts';

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

export interface OnboardingStore {
  getConfig(): Promise<OnboardingConfig>;
  putConfig(config: OnboardingConfig): Promise<OnboardingConfig>;
  /** Records an ingest task (its input kept in details) and its outbox message. */
  createIngest(taskId: string, input: { students?: IncomingStudent[]; requestedBy: string }): Promise<Task>;
  findTask(id: string): Promise<Task | undefined>;
  /** The students an ingest was given in its request, or null to pull them from the source. */
  ingestInput(ingestId: string): Promise<IncomingStudent[] | null>;
  /** Newest first, one page. */
  listTasks(filter: TaskFilter, page: PageRequest): Promise<Page<Task>>;
  /** Claims a pending or stale-running task for this run; false if it has already ended. */
  start(taskId: string): Promise<boolean>;
  heartbeat(taskId: string): Promise<void>;
  finish(taskId: string, status: 'completed' | 'failed', details: Record<string, unknown>, entityCount?: number): Promise<void>;
  /**
   * In one transaction: keeps the students not seen before, creates their workflow tasks in
   * batches of `batchSize` (and each batch's outbox message), and completes the ingest.
   * Safe to repeat: a student is new only once.
   */
  planIngest(ingestId: string, students: IncomingStudent[], batchSize: number): Promise<{ received: number; fresh: number; batches: string[] }>;
  batchWorkflows(batchId: string): Promise<WorkflowUnit[]>;
  effectDone(studentId: string, effect: string): Promise<string | undefined>;
  recordEffect(studentId: string, effect: string, externalId: string): Promise<void>;
  /** Running tasks whose heartbeat stopped: announced again (or failed after `maxRequeues`). */
  reapStale(staleMs: number, maxRequeues: number): Promise<{ requeued: number; failed: number }>;
}

export type ProviderName = 'directory' | 'lms' | 'email';

/** Spaces calls to a provider so that no window holds more than its per-minute limit, across replicas. */
export interface RateLimiter {
  /** Waits for this caller's slot; returns how long it waited (ms). */
  acquire(provider: ProviderName, perMinute: number): Promise<number>;
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
