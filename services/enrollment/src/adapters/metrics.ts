import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EnrollmentMetrics, OpsStore } from '../app/ports.js';

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];

export function enrollmentMetrics(registry: Registry): EnrollmentMetrics {
  const submitted = new Counter({
    name: 'enrollment_submissions_total',
    help: 'Enrollment submissions by outcome (accepted, replayed, key_reused)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const outcomes = new Counter({
    name: 'enrollment_requests_finished_total',
    help: 'Enrollment requests that reached a terminal status, by status and code',
    labelNames: ['status', 'code'],
    registers: [registry],
  });
  const acceptToTerminal = new Histogram({
    name: 'enrollment_accept_to_terminal_seconds',
    help: 'Time from the 202 (request stored) to completed or failed',
    labelNames: ['status'],
    buckets: SECONDS,
    registers: [registry],
  });
  const sagaDuration = new Histogram({
    name: 'enrollment_saga_duration_seconds',
    help: 'Time from the saga’s first step to its end, by final status',
    labelNames: ['status'],
    buckets: SECONDS,
    registers: [registry],
  });
  const compensations = new Counter({
    name: 'enrollment_saga_compensations_total',
    help: 'Seats given back by sagas that could not complete',
    registers: [registry],
  });
  return {
    submitted: (outcome) => submitted.inc({ outcome }),
    finished: (outcome) => {
      const now = Date.now();
      outcomes.inc({ status: outcome.status, code: outcome.code ?? 'OK' });
      acceptToTerminal.observe({ status: outcome.status }, (now - outcome.acceptedAt.getTime()) / 1000);
      if (outcome.sagaStartedAt) {
        sagaDuration.observe({ status: outcome.status }, (now - outcome.sagaStartedAt.getTime()) / 1000);
      }
      if (outcome.compensations > 0) compensations.inc(outcome.compensations);
    },
  };
}

/**
 * `enrollment_open_requests` and `enrollment_oldest_open_request_seconds`, read from the
 * database at each scrape (every replica reports the same figure: aggregate with max). The
 * second is what the stuck-requests alert watches.
 */
export function registerOpenRequestGauges(registry: Registry, store: Pick<OpsStore, 'openRequests'>): void {
  const oldest = new Gauge({
    name: 'enrollment_oldest_open_request_seconds',
    help: 'Seconds since the least recently progressed queued or processing request last moved',
    registers: [registry],
  });
  new Gauge({
    name: 'enrollment_open_requests',
    help: 'Enrollment requests queued or processing',
    registers: [registry],
    async collect() {
      try {
        const open = await store.openRequests();
        this.set(open.count);
        oldest.set(open.oldestSeconds);
      } catch {
        // The database is away: leave the last figures rather than fail the whole scrape.
      }
    },
  });
}
