import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from './metrics.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function afterGc(registry: ReturnType<typeof createMetricsRegistry>): Promise<number> {
  gc();
  // GC performance entries reach observers asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const metric = await registry.getSingleMetric('nodejs_heap_used_after_major_gc_bytes')!.get();
  return metric.values[0]!.value;
}

describe('nodejs_heap_used_after_major_gc_bytes', () => {
  it('is the heap a full collection leaves: it follows what is retained, not the garbage', async () => {
    const registry = createMetricsRegistry('test');
    const before = await afterGc(registry);
    expect(before).toBeGreaterThan(0);

    // 40 MB of garbage allocated after the collection does not show until the next one frees it.
    let garbage: number[][] | undefined = Array.from({ length: 400 }, () => new Array(12_500).fill(1.5));
    expect(garbage.length).toBe(400);
    garbage = undefined;
    expect(await afterGc(registry)).toBeLessThan(before + 8 * 1024 * 1024);

    // 40 MB that stay reachable do.
    const retained = Array.from({ length: 400 }, () => new Array(12_500).fill(1.5));
    const withRetained = await afterGc(registry);
    expect(withRetained).toBeGreaterThan(before + 30 * 1024 * 1024);
    expect(retained.length).toBe(400);
  });
});
