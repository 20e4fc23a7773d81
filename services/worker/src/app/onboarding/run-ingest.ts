import { randomUUID } from 'node:crypto';
import { isTransient } from '@cupo/errors';
import type { Logger } from '@cupo/service-kit';
import { TaskHeldError } from '../../domain/errors.js';
import { ProviderUnavailableError, type OnboardingStore, type StudentSource } from './ports.js';

/**
 * An ingest: takes the students from the request (kept with the task) or the
 * student-information source, keeps the ones not seen before, and plans their workflows in
 * batches of `batch_size`; each batch is its own job. Repeating it changes nothing.
 *
 * Claimed like a batch, so a redelivered copy waits instead of running beside it. A source that
 * is briefly away (5xx, timeout) is retried by the consumer with backoff; one that refuses or
 * answers nonsense fails the ingest (an admin may retry it).
 */
export async function runIngest(
  deps: { store: OnboardingStore; source: StudentSource; logger: Logger; leaseMs: number; replicaId: string },
  ingestId: string,
): Promise<void> {
  const owner = `${deps.replicaId}/${randomUUID().slice(0, 8)}`;
  const claim = await deps.store.claim(ingestId, owner, deps.leaseMs);
  if (!claim.claimed) {
    if (claim.state === 'held') throw new TaskHeldError(ingestId);
    return;
  }
  try {
    let students = await deps.store.ingestInput(ingestId);
    if (!students) {
      try {
        students = await deps.source.fetchStudents();
      } catch (error) {
        // Away (or its breaker open): the consumer tries again later; only a refusal fails the ingest.
        if (error instanceof ProviderUnavailableError || isTransient(error)) throw error;
        await deps.store.finish(ingestId, owner, 'failed', { error: `student-information source: ${(error as Error).message}` });
        return;
      }
    }
    const config = await deps.store.getConfig();
    const plan = await deps.store.planIngest(ingestId, students, config.batch_size);
    deps.logger.info({ taskId: ingestId, ...plan, batches: plan.batches.length }, 'ingest planned');
  } catch (error) {
    // An outage (our store, or the source's breaker open) costs the ingest no attempt.
    await deps.store.release(ingestId, owner, { refund: isTransient(error) }).catch(() => undefined);
    throw error;
  }
}
