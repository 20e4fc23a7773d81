import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { Registry, collectDefaultMetrics, Gauge, Histogram } from 'prom-client';

export { Registry, Counter, Gauge, Histogram } from 'prom-client';

/**
 * A registry per process (prom-client has no cluster mode here: each replica is scraped on
 * its own), with the default Node.js metrics and a `service` label on every series.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  heapAfterGcGauge(registry);
  return registry;
}

/**
 * `nodejs_heap_used_after_major_gc_bytes`: V8's used heap right after the last full
 * (mark-compact) collection — what the process really keeps. `nodejs_heap_size_used_bytes`
 * is sampled at scrape time and includes whatever garbage the next collection would free, so
 * under load it swings with the allocation rate; this one only grows when something is retained
 * (the soak compares it between warm-up and the end). 0 until the first full collection.
 */
export function heapAfterGcGauge(registry: Registry): Gauge {
  watchMajorGcs();
  return new Gauge({
    name: 'nodejs_heap_used_after_major_gc_bytes',
    help: 'V8 used heap measured right after the last major (mark-compact) garbage collection',
    registers: [registry],
    collect() {
      this.set(heapAfterLastMajorGc);
    },
  });
}

let heapAfterLastMajorGc = 0;
let gcObserver: PerformanceObserver | undefined;

/** One observer per process, however many registries read it (tests make many). */
function watchMajorGcs(): void {
  if (gcObserver) return;
  gcObserver = new PerformanceObserver((list) => {
    const major = list
      .getEntries()
      .some(
        (entry: PerformanceEntry) =>
          (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR,
      );
    // The entries are delivered after the collection; little has been allocated since.
    if (major) heapAfterLastMajorGc = getHeapStatistics().used_heap_size;
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}

/** Latency buckets that resolve the sub-millisecond RPCs as well as the 1.5 s SLA. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5, 10];

export function httpDurationHistogram(registry: Registry): Histogram<'method' | 'route' | 'status'> {
  return new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template and status code',
    labelNames: ['method', 'route', 'status'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
}
