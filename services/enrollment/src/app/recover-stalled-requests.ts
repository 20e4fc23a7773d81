import type { Logger } from 'pino';
import type { OpsStore, SagaStore } from './ports.js';

/**
 * The safety net behind "a 202 always reaches completed or failed": a request still queued
 * or processing long after its last step (its message lost — a purged queue, a broker that
 * lost non-replicated data) is announced again. Processing is idempotent, so announcing a
 * request that was merely slow costs one no-op.
 */
export async function recoverStalledRequests(
  stores: { sagas: Pick<SagaStore, 'requeueStalled'>; ops: Pick<OpsStore, 'purgeExpiredKeys'> },
  options: { staleMs: number; batch: number },
  logger: Logger,
): Promise<void> {
  // The store wakes the outbox relay after its commit: the messages leave now.
  const ids = await stores.sagas.requeueStalled(options.staleMs, options.batch);
  if (ids.length > 0) logger.warn({ count: ids.length, requestIds: ids.slice(0, 10) }, 'stalled requests re-announced');
  const purged = await stores.ops.purgeExpiredKeys();
  if (purged > 0) logger.info({ purged }, 'expired idempotency keys purged');
}
