import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PeriodicTask } from './periodic-task.js';

async function passCounts(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('periodic_task_duration_seconds')?.get();
  return Object.fromEntries(
    (metric?.values ?? [])
      .filter((v) => v.metricName === 'periodic_task_duration_seconds_count')
      .map((v) => [`${v.labels.task}/${v.labels.outcome}`, v.value]),
  );
}

describe('PeriodicTask', () => {
  it('times every pass by task and outcome, logs a failed one, and keeps running after it', async () => {
    const registry = new Registry();
    const warnings: string[] = [];
    let calls = 0;
    const task = new PeriodicTask(
      { name: 'sweep things', intervalMs: 5, metrics: { registry, task: 'sweep' } },
      async () => {
        calls += 1;
        if (calls === 2) throw new Error('database away');
        await new Promise((resolve) => setTimeout(resolve, 20));
      },
      { warn: (_obj, msg) => warnings.push(msg) },
    );
    task.start();
    await expect.poll(() => calls, { timeout: 5_000 }).toBeGreaterThanOrEqual(4);
    await task.stop();
    const counts = await passCounts(registry);
    expect(counts['sweep/failed']).toBe(1);
    expect(counts['sweep/ok']).toBe(calls - 1);
    expect(warnings).toEqual(['periodic task failed']);
    const sum = (await registry.getSingleMetric('periodic_task_duration_seconds')?.get())?.values.find(
      (v) => v.metricName === 'periodic_task_duration_seconds_sum' && v.labels.outcome === 'ok',
    );
    // Each successful pass slept 20 ms: the histogram holds the pass's time, not the interval's.
    expect(sum?.value).toBeGreaterThanOrEqual(((calls - 1) * 19) / 1000);
  });

  it('two tasks share one histogram in a registry', async () => {
    const registry = new Registry();
    const logger = { warn: () => undefined };
    const a = new PeriodicTask({ name: 'a', intervalMs: 1, metrics: { registry, task: 'a' } }, async () => undefined, logger);
    const b = new PeriodicTask({ name: 'b', intervalMs: 1, metrics: { registry, task: 'b' } }, async () => undefined, logger);
    a.start();
    b.start();
    await expect.poll(async () => Object.keys(await passCounts(registry)).sort(), { timeout: 5_000 }).toEqual(['a/ok', 'b/ok']);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('stop() waits for the pass in progress and schedules no other', async () => {
    let finished = 0;
    let started = 0;
    const task = new PeriodicTask(
      { name: 'slow', intervalMs: 1 },
      async () => {
        started += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
        finished += 1;
      },
      { warn: () => undefined },
    );
    task.start();
    await expect.poll(() => started, { timeout: 5_000 }).toBe(1);
    await task.stop();
    expect(finished).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(started).toBe(1);
  });
});
