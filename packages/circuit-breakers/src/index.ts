/**
 * Circuit breakers, one module per concern:
 * - breaker.ts — the probation breaker (closes after N successes) and its types;
 * - registry.ts — CircuitBreakers, a process's breakers by name on cockatiel, with a gauge;
 * - store.ts — guardedByBreaker, one breaker around every method of an adapter;
 * - presets.ts — the env settings and the usual sets (postgres, publishing, providers);
 * - handlers.ts — the list/reset handlers every service answers on the breaker broadcast;
 * - report.ts — merging every process's answer, and the health summary.
 */
export * from './breaker.js';
export * from './registry.js';
export * from './store.js';
export * from './presets.js';
export * from './handlers.js';
export * from './report.js';
export * from './errors.js';
