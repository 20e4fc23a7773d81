import type { Logger } from 'pino';
import type { EnrollmentStore } from './ports.js';

/**
 * The safety net behind "a 202 always reaches completed or failed": a request still queued
 * or processing long after its last step (its message lost — a purged queue, a broker that
 * lost non-replicated data) is announced again. Processing is idempotent, so announcing a
 * request that was merely slow costs one no-op.
 */
export async function recoverStalledRequests(
  store: EnrollmentStore,
  options: { staleMs: number; batch: number; outboxWritten: () => void },
  logger: Logger,
): Promise<void> {
  const ids = await store.requeueStalled(options.staleMs, options.batch);
  if (ids.length > 0) options.outboxWritten();
  if (ids.length > 0) logger.warn({ count: ids.length, requestIds: ids.slice(0, 10) }, 'stalled requests re-announced');
  const purged = await store.purgeExpiredKeys();
  if (purged > 0) logger.info({ purged }, 'expired idempotency keys purged');
}
