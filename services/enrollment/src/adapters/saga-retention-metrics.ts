import { Counter, type Registry } from 'prom-client';

/** `enrollment_sagas_purged_total{status}`: finished sagas the automatic cleanup removed. */
export function sagaPurgeCounter(registry: Registry): (status: string, count: number) => void {
  const purged = new Counter({
    name: 'enrollment_sagas_purged_total',
    help: 'Finished sagas removed by the automatic cleanup (SAGA_RETENTION_SECONDS), by final status',
    labelNames: ['status'],
    registers: [registry],
  });
  // The three final statuses from the start, so a rate() sees 0 before the first removal.
  for (const status of ['completed', 'compensated', 'failed']) purged.inc({ status }, 0);
  return (status, count) => purged.inc({ status }, count);
}
