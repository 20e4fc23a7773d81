import type { BreakerSnapshot, BreakerStateName } from './breaker.js';

/** One process's breakers, as it answers the broadcast. */
export interface InstanceReport {
  service: string;
  instance: string;
  breakers: Record<string, BreakerSnapshot>;
}

/** One breaker name across every process that has it: its worst state, summed counts, and each process's own. */
export interface AggregatedBreaker extends BreakerSnapshot {
  instances: ({ service: string; instance: string } & BreakerSnapshot)[];
}

const SEVERITY: Record<BreakerStateName, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * Merges every process's report by breaker name. A breaker reads as its worst state across
 * processes (any service's `postgres` open makes `postgres` open); `instances` says which
 * service and process each state belongs to, sorted by service then instance.
 */
export function mergeBreakerReports(reports: readonly InstanceReport[]): Record<string, AggregatedBreaker> {
  const sorted = [...reports].sort((a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance));
  const merged: Record<string, AggregatedBreaker> = {};
  for (const { service, instance, breakers } of sorted) {
    for (const [name, b] of Object.entries(breakers)) {
      const entry = (merged[name] ??= { state: 'closed', failure_count: 0, success_count: 0, instances: [] });
      if (SEVERITY[b.state] > SEVERITY[entry.state]) entry.state = b.state;
      entry.failure_count += b.failure_count;
      entry.success_count += b.success_count;
      entry.instances.push({ service, instance, state: b.state, failure_count: b.failure_count, success_count: b.success_count });
    }
  }
  return merged;
}

/** `overall_health` and `degraded_services` (the breakers not closed) as the ops API reports them. */
export function healthOf(breakers: Record<string, { state: BreakerStateName }>): {
  overall_health: 'healthy' | 'degraded';
  degraded_services: string[];
} {
  const degraded = Object.entries(breakers)
    .filter(([, b]) => b.state !== 'closed')
    .map(([name]) => name)
    .sort();
  return { overall_health: degraded.length === 0 ? 'healthy' : 'degraded', degraded_services: degraded };
}
