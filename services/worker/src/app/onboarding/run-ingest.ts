import type { Logger } from '@cupo/service-kit';
import type { OnboardingStore, StudentSource } from './ports.js';

/**
 * An ingest: takes the students from the request (kept with the task) or the
 * student-information source, keeps the ones not seen before, and plans their workflows in
 * batches of `batch_size`; each batch is its own job. Repeating it changes nothing.
 */
export async function runIngest(
  deps: { store: OnboardingStore; source: StudentSource; logger: Logger },
  ingestId: string,
): Promise<void> {
  if (!(await deps.store.start(ingestId))) return;
  let students = await deps.store.ingestInput(ingestId);
  if (!students) {
    try {
      students = await deps.source.fetchStudents();
    } catch (error) {
      await deps.store.finish(ingestId, 'failed', { error: `student-information source: ${(error as Error).message}` });
      return;
    }
  }
  const config = await deps.store.getConfig();
  const plan = await deps.store.planIngest(ingestId, students, config.batch_size);
  deps.logger.info({ taskId: ingestId, ...plan, batches: plan.batches.length }, 'ingest planned');
}
