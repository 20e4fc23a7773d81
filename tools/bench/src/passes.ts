import type { Stack } from '@cupo/stack';

/** Time spent in one background task's passes, summed over a service's processes. */
export interface PassTotals {
  passes: number;
  seconds: number;
}

const SERIES = /^periodic_task_duration_seconds_(sum|count)\{([^}]*)\} ([0-9.e+-]+)$/;

/**
 * Every process's `periodic_task_duration_seconds` (service-kit's PeriodicTask), keyed
 * `service/task` (replicas summed): read before and after a run, the difference is each
 * background job's passes and the time they took.
 */
export async function readPasses(stack: Stack): Promise<Map<string, PassTotals>> {
  const totals = new Map<string, PassTotals>();
  for (const proc of stack.processes) {
    const text = await fetch(`http://127.0.0.1:${proc.port}/metrics`, { signal: AbortSignal.timeout(2_000) })
      .then((r) => r.text())
      .catch(() => '');
    const service = proc.name.replace(/-\d+$/, '');
    for (const line of text.split('\n')) {
      const match = SERIES.exec(line);
      if (!match) continue;
      const task = /task="([^"]+)"/.exec(match[2]!)?.[1];
      if (!task) continue;
      const key = `${service}/${task}`;
      const entry = totals.get(key) ?? { passes: 0, seconds: 0 };
      if (match[1] === 'count') entry.passes += Number(match[3]);
      else entry.seconds += Number(match[3]);
      totals.set(key, entry);
    }
  }
  return totals;
}

/** Passes and mean ms per pass between two readings, by `service/task`. */
export function passesBetween(
  before: Map<string, PassTotals>,
  after: Map<string, PassTotals>,
): Record<string, { passes: number; meanMs: number }> {
  const out: Record<string, { passes: number; meanMs: number }> = {};
  for (const [key, end] of [...after].sort(([a], [b]) => a.localeCompare(b))) {
    const start = before.get(key) ?? { passes: 0, seconds: 0 };
    const passes = end.passes - start.passes;
    out[key] = { passes, meanMs: passes > 0 ? ((end.seconds - start.seconds) * 1000) / passes : 0 };
  }
  return out;
}
