import { describe, expect, it } from 'vitest';
import { TaskNotFoundError, TaskNotRetryableError } from '../../domain/errors.js';
import type { OnboardingStore, Task } from './ports.js';
import { retryTask } from './retry-task.js';

const task = (id: string, status: Task['status']): Task => ({
  id,
  type: 'workflow',
  status,
  parent_id: 'b1',
  student_id: 'S1',
  entity_count: 1,
  details: {},
  created_at: new Date().toISOString(),
  started_at: null,
  finished_at: null,
  stuck: false,
  scheduled: false,
});

/** The store's retry rule over a map: only a failed task goes back to pending. */
function storeWith(tasks: Task[]): Pick<OnboardingStore, 'retry'> & { retries: [string, string][] } {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const retries: [string, string][] = [];
  return {
    retries,
    async retry(taskId, requestedBy) {
      const t = byId.get(taskId);
      if (!t) return { missing: true as const };
      if (t.status !== 'failed') return { notRetryable: `it is ${t.status}, not failed` };
      retries.push([taskId, requestedBy]);
      t.status = 'pending';
      return { retried: { ...t } };
    },
  };
}

describe('retryTask', () => {
  it('puts a failed task back to pending (the store announces it and wakes its relay)', async () => {
    const store = storeWith([task('w1', 'failed')]);
    const retried = await retryTask({ store: store as unknown as OnboardingStore }, 'w1', 'admin-1');
    expect(retried).toMatchObject({ id: 'w1', status: 'pending' });
    expect(store.retries).toEqual([['w1', 'admin-1']]);
  });

  it('is not found for a task that does not exist', async () => {
    const deps = { store: storeWith([]) as unknown as OnboardingStore };
    await expect(retryTask(deps, 'nope', 'admin-1')).rejects.toBeInstanceOf(TaskNotFoundError);
  });

  it('refuses what has not failed, saying why', async () => {
    const deps = { store: storeWith([task('w2', 'completed')]) as unknown as OnboardingStore };
    const refusal = retryTask(deps, 'w2', 'admin-1');
    await expect(refusal).rejects.toBeInstanceOf(TaskNotRetryableError);
    await expect(refusal).rejects.toThrow('it is completed, not failed');
  });
});
