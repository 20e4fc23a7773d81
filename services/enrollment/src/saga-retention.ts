import type { Sql } from '@cupo/database';
import { PeriodicTask, type Logger } from '@cupo/service-kit';
import type { Registry } from 'prom-client';
import { PostgresFinishedSagaPurger } from './adapters/postgres/saga-retention.js';
import { sagaPurgeCounter } from './adapters/saga-retention-metrics.js';
import { purgeFinishedSagas } from './app/purge-finished-sagas.js';
import type { EnrollmentConfig } from './config.js';

type RetentionConfig = Pick<
  EnrollmentConfig,
  'SAGA_RETENTION_SECONDS' | 'SAGA_PURGE_INTERVAL_MS' | 'SAGA_PURGE_BATCH' | 'SAGA_PURGE_MAX_BATCHES'
>;

/** The automatic cleanup of finished sagas, wired: every replica runs it (SKIP LOCKED keeps them apart). */
export function sagaRetentionTask(sql: Sql, registry: Registry, config: RetentionConfig, logger: Logger): PeriodicTask {
  const purger = new PostgresFinishedSagaPurger(sql);
  const removed = sagaPurgeCounter(registry);
  return new PeriodicTask(
    { name: 'purge finished sagas', intervalMs: config.SAGA_PURGE_INTERVAL_MS, metrics: { registry, task: 'saga_purge' } },
    async () => {
      const purged = await purgeFinishedSagas(
        purger,
        { retentionSeconds: config.SAGA_RETENTION_SECONDS, batch: config.SAGA_PURGE_BATCH, maxBatches: config.SAGA_PURGE_MAX_BATCHES },
        removed,
      );
      if (purged > 0) logger.info({ purged, retention_seconds: config.SAGA_RETENTION_SECONDS }, 'finished sagas purged');
    },
    logger,
  );
}
