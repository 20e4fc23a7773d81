import { randomUUID } from 'node:crypto';
import type { Logger } from '@cupo/service-kit';
import { dueSlot } from '../../domain/ingest-schedule.js';
import type { OnboardingStore, Task } from './ports.js';

/**
 * One look at the ingest schedule, as every worker replica takes one each tick: the latest
 * slot due (by the database's clock, so replicas' clocks do not matter) is fired unless
 * another replica already has. The database decides who: see `fireScheduledIngest`.
 *
 * A slot missed while every replica was down fires once when the first one comes back (only
 * the latest missed slot, not each of them); a slot from before the schedule was set never does.
 */
export async function fireDueIngest(deps: { store: OnboardingStore; logger: Logger; replicaId: string }): Promise<Task | null> {
  const { schedule, since, now } = await deps.store.scheduleState();
  if (!schedule) return null;
  let slot: Date | null;
  try {
    slot = dueSlot(schedule, now, since);
  } catch (error) {
    // Checked when it was set; a zone this runtime no longer knows must not stop the loop.
    deps.logger.error({ err: error, schedule }, 'ingest schedule cannot be read');
    return null;
  }
  if (!slot) return null;
  const task = await deps.store.fireScheduledIngest(slot, schedule, randomUUID(), deps.replicaId);
  if (task) deps.logger.info({ taskId: task.id, slot: slot.toISOString(), schedule }, 'scheduled ingest fired');
  return task;
}
