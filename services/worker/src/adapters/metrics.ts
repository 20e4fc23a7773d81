import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { OnboardingConfig } from '@cupo/contracts';
import type { OnboardingMetrics } from '../app/onboarding/ports.js';
import type { QueryMetrics } from '../app/queries/ports.js';

/** The worker's own metrics (the job consumers, RPC server, outbox and breakers register theirs). */

export function queryMetrics(registry: Registry): QueryMetrics {
  const latency = new Histogram({
    name: 'worker_query_duration_seconds',
    help: 'Time from a query being recorded to its answer, by type and status',
    labelNames: ['type', 'status'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  return { finished: (type, status, seconds) => latency.observe({ type, status }, seconds) };
}

export function onboardingMetrics(registry: Registry): OnboardingMetrics {
  const calls = new Counter({
    name: 'onboarding_provider_calls_total',
    help: 'Provider requests by provider and outcome (ok, throttled, unavailable, failed)',
    labelNames: ['provider', 'outcome'],
    registers: [registry],
  });
  const wait = new Histogram({
    name: 'onboarding_limiter_wait_seconds',
    help: 'Time a provider request waited for its rate-limit slot',
    labelNames: ['provider'],
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const workflows = new Counter({
    name: 'onboarding_workflows_total',
    help: 'Student workflows by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const batches = new Histogram({
    name: 'onboarding_batch_duration_seconds',
    help: 'Time to run one batch of workflows',
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [registry],
  });
  return {
    providerCall: (provider, outcome) => calls.inc({ provider, outcome }),
    limiterWait: (provider, ms) => wait.observe({ provider }, ms / 1000),
    workflow: (outcome) => workflows.inc({ outcome }),
    batch: (seconds) => batches.observe(seconds),
  };
}

/** The configured limits beside the calls, so a dashboard can draw one against the other. */
export function rateLimitGauge(registry: Registry, config: () => Promise<OnboardingConfig>): void {
  new Gauge({
    name: 'onboarding_rate_limit_per_minute',
    help: 'Each provider’s configured call limit per minute',
    labelNames: ['provider'],
    registers: [registry],
    async collect() {
      try {
        const c = await config();
        this.set({ provider: 'directory' }, c.rate_limit_directory_per_min);
        this.set({ provider: 'lms' }, c.rate_limit_lms_per_min);
        this.set({ provider: 'email' }, c.rate_limit_email_per_min);
      } catch {
        // database away: keep the last figures
      }
    },
  });
}
