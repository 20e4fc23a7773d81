import { DomainError } from '@cupo/errors';

export class QueryNotFoundError extends DomainError {
  constructor(id: string) {
    super('not_found', 'QUERY_NOT_FOUND', `Query ${id} does not exist`);
  }
}

export class NotYourQueryError extends DomainError {
  constructor() {
    super('forbidden', 'FORBIDDEN', 'You may only read your own queries');
  }
}

export class ReportForbiddenError extends DomainError {
  constructor(type: string) {
    super('forbidden', 'FORBIDDEN', `A ${type} report shows students' personal data: it is for admins only`);
  }
}

export class TaskNotFoundError extends DomainError {
  constructor(id: string) {
    super('not_found', 'TASK_NOT_FOUND', `Task ${id} does not exist`);
  }
}

/** Only what has failed can be retried: a failed task, or a batch with failed workflows. */
export class TaskNotRetryableError extends DomainError {
  constructor(id: string, why: string) {
    super('conflict', 'TASK_NOT_RETRYABLE', `Task ${id} cannot be retried: ${why}`);
  }
}

/**
 * Another live run holds the task's claim (a redelivered or re-announced message): this
 * message waits in the retry queue, without using up an attempt, and looks again later.
 */
export class TaskHeldError extends DomainError {
  constructor(id: string) {
    super('unavailable', 'TASK_HELD', `Task ${id} is being run elsewhere; trying again later`);
  }
}

/**
 * A run gave its task back unfinished (the replica is shutting down, or its own infrastructure
 * kept failing): its claim is released and its message re-queued, so another run resumes it.
 */
export class TaskHandedBackError extends DomainError {
  constructor(id: string, reason: string) {
    super('unavailable', 'TASK_HANDED_BACK', `Task ${id} handed back: ${reason}`);
  }
}

/** Another live run is doing this one-off effect right now: wait for it, it costs no attempt. */
export class EffectHeldError extends DomainError {
  constructor(studentId: string, effect: string) {
    super('unavailable', 'EFFECT_HELD', `${effect} of ${studentId} is being done by another run`);
  }
}
