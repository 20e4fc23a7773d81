import { DependencyUnavailableError } from '@cupo/errors';
import type { CircuitBreakers } from './registry.js';

/**
 * Wraps every method of an adapter (a store) in one breaker: once it is open, calls fail at
 * once instead of waiting for a timeout. `translate` turns the dependency's own failures into
 * DependencyUnavailableError first (e.g. `withDatabase`), so the breaker can count them.
 */
export function guardedByBreaker<T extends object>(
  target: T,
  breakers: CircuitBreakers,
  breaker: string,
  translate: <R>(work: () => Promise<R>) => Promise<R> = (work) => work(),
): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        breakers.run(breaker, () => translate(() => (value as (...a: unknown[]) => Promise<unknown>).apply(object, args)));
    },
  });
}

/** A failure of `dependency` (as DependencyUnavailableError names it) counts against its breaker. */
export const failureOf = (dependency: string) => (error: Error) =>
  error instanceof DependencyUnavailableError && String(error.details?.dependency ?? '').startsWith(dependency);
