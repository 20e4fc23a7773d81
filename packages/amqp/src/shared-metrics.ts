import { Counter, Histogram, type CounterConfiguration, type HistogramConfiguration, type Registry } from 'prom-client';

// Several consumers or servers in one process (the worker's queries and onboarding; commands
// and broadcasts) share one metric: prom-client refuses to register a name twice, so the first
// registers it and the rest take it from the registry.

export function sharedCounter<T extends string>(registry: Registry, config: Omit<CounterConfiguration<T>, 'registers'>): Counter<T> {
  return (registry.getSingleMetric(config.name) as Counter<T> | undefined) ?? new Counter({ ...config, registers: [registry] });
}

export function sharedHistogram<T extends string>(registry: Registry, config: Omit<HistogramConfiguration<T>, 'registers'>): Histogram<T> {
  return (registry.getSingleMetric(config.name) as Histogram<T> | undefined) ?? new Histogram({ ...config, registers: [registry] });
}
