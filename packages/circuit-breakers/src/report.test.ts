import { describe, expect, it } from 'vitest';
import { healthOf, mergeBreakerReports } from './report.js';

const closed = { state: 'closed' as const, failure_count: 0, success_count: 5 };

describe('merging every process’s breakers', () => {
  const merged = mergeBreakerReports([
    { service: 'worker', instance: 'w2', breakers: { postgres: closed, directory: { state: 'open', failure_count: 5, success_count: 1 } } },
    { service: 'enrollment', instance: 'e1', breakers: { postgres: { state: 'half_open', failure_count: 0, success_count: 2 } } },
    { service: 'worker', instance: 'w1', breakers: { postgres: closed, directory: closed } },
  ]);

  it('reads a breaker as its worst state, sums its counts, and lists each service and instance in order', () => {
    expect(merged.postgres).toEqual({
      state: 'half_open',
      failure_count: 0,
      success_count: 12,
      instances: [
        { service: 'enrollment', instance: 'e1', state: 'half_open', failure_count: 0, success_count: 2 },
        { service: 'worker', instance: 'w1', ...closed },
        { service: 'worker', instance: 'w2', ...closed },
      ],
    });
    expect(merged.directory?.state).toBe('open');
    expect(merged.directory?.instances.map((i) => i.instance)).toEqual(['w1', 'w2']);
  });

  it('is degraded while any breaker is not closed, naming those', () => {
    expect(healthOf(merged)).toEqual({ overall_health: 'degraded', degraded_services: ['directory', 'postgres'] });
    expect(healthOf({ redis: closed })).toEqual({ overall_health: 'healthy', degraded_services: [] });
  });
});
