import { randomUUID } from 'node:crypto';
import type { Logger } from '@cupo/service-kit';
import { dueSlots } from '../../domain/ingest-schedule.js';
import type { OnboardingStore, Task } from './ports.js';

/**
 * One look at the ingest schedule, as every worker replica takes one each tick: the slots due
 * (by the database's clock, so replicas' clocks do not matter) are fired unless another
 * replica already has. The database decides who: see `fireScheduledIngest`.
 *
 * A look that came late (within `catchUpMs` of the last slot fired) fires each slot it missed;
 * after a time with no replica running, only the latest missed slot fires, once. A slot from
 * before the schedule was set never does. See `dueSlots`.
 */
export async function fireDueIngest(deps: {
  store: OnboardingStore;
  logger: Logger;
  replicaId: string;
  catchUpMs: number;
}): Promise<Task[]> {
  const { schedule, since, lastFired, now } = await deps.store.scheduleState();
  if (!schedule) return [];
  let slots: Date[];
  try {
    slots = dueSlots(schedule, now, since, lastFired, deps.catchUpMs);
  } catch (error) {
    // Checked when it was set; a zone this runtime no longer knows must not stop the loop.
    deps.logger.error({ err: error, schedule }, 'ingest schedule cannot be read');
    return [];
  }
  const fired: Task[] = [];
  for (const slot of slots) {
    const task = await deps.store.fireScheduledIngest(slot, schedule, randomUUID(), deps.replicaId);
    if (!task) continue;
    deps.logger.info({ taskId: task.id, slot: slot.toISOString(), schedule }, 'scheduled ingest fired');
    fired.push(task);
  }
  return fired;
}
