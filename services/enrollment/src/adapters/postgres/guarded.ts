import type { CircuitBreakers } from '@cupo/circuit-breakers';
import { withDatabase } from '@cupo/database';

/**
 * Wraps every method of a store in the `postgres` circuit breaker: connection failures
 * become DependencyUnavailableError (503 at the edge, a non-counting retry for consumers),
 * and once the breaker is open calls fail at once instead of waiting for a connect timeout.
 */
export function guardedByBreaker<T extends object>(store: T, breakers: CircuitBreakers, breaker: string): T {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        breakers.run(breaker, () => withDatabase(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)));
    },
  });
}
