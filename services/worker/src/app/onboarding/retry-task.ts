import { TaskNotFoundError, TaskNotRetryableError } from '../../domain/errors.js';
import type { OnboardingStore, Task } from './ports.js';

/**
 * An admin retries what failed: a workflow (the directory refused, or a provider stayed down
 * past its attempts), a batch's failed workflows, or an ingest whose source failed. They run
 * again with fresh attempts; what had succeeded is found, not redone, and a sent e-mail is
 * not sent again.
 */
export async function retryTask(deps: { store: OnboardingStore }, taskId: string, requestedBy: string): Promise<Task> {
  const outcome = await deps.store.retry(taskId, requestedBy);
  if ('missing' in outcome) throw new TaskNotFoundError(taskId);
  if ('notRetryable' in outcome) throw new TaskNotRetryableError(taskId, outcome.notRetryable);
  return outcome.retried;
}
