import {
  BrokenCircuitError,
  CircuitState,
  circuitBreaker,
  handleWhen,
  type CircuitBreakerPolicy,
  type IBreaker,
} from 'cockatiel';
import { Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import { DependencyUnavailableError } from '@cupo/errors';

export * from './errors.js';

export interface BreakerThresholds {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long it stays open before one trial call is let through. */
  openMs: number;
  /** Consecutive successes, counted from that trial, before it is fully closed again. */
  successThreshold: number;
}

export type BreakerStateName = 'closed' | 'open' | 'half_open';

export interface BreakerSnapshot {
  state: BreakerStateName;
  /** Failures since the circuit last closed (what drives it open). */
  failure_count: number;
  /** Successful calls since the process started. */
  success_count: number;
}

/**
 * Consecutive failures open the circuit, like cockatiel's ConsecutiveBreaker. What it adds:
 * closing takes `successThreshold` successes, not one. Cockatiel closes on the single trial
 * call; we keep counting afterwards ("probation") and reopen at the first failure before
 * the threshold, so a dependency that answers one query in ten cannot flap the circuit.
 */
class ProbationBreaker implements IBreaker {
  failures = 0;
  /** Successes still needed before the circuit counts as closed; 0 = fully closed. */
  probation = 0;

  constructor(private readonly thresholds: BreakerThresholds) {}

  get state(): unknown {
    return { failures: this.failures, probation: this.probation };
  }
  set state(_value: unknown) {
    // Not restored from serialized state: breakers live and die with their process.
  }

  success(state: CircuitState): void {
    this.failures = 0;
    if (state === CircuitState.HalfOpen) this.probation = this.thresholds.successThreshold - 1;
    else if (this.probation > 0) this.probation -= 1;
  }

  failure(state: CircuitState): boolean {
    if (state === CircuitState.HalfOpen) return true;
    this.failures += 1;
    if (this.probation > 0) return true;
    return this.failures >= this.thresholds.failureThreshold;
  }

  reset(): void {
    this.failures = 0;
    this.probation = 0;
  }
}

interface Entry {
  policy: CircuitBreakerPolicy;
  breaker: ProbationBreaker;
  dependency: string;
  successes: number;
}

const STATE_VALUE: Record<BreakerStateName, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * The breakers of one process, by name (`postgres`, `redis`, `publishing`). A call through
 * an open breaker fails at once with DependencyUnavailableError (503 at the edge) instead
 * of waiting on a dependency that is known to be down.
 *
 * Only failures that `isFailure` recognises count: a constraint violation is the database
 * working, not failing.
 */
export class CircuitBreakers {
  private readonly entries = new Map<string, Entry>();
  private readonly gauge: Gauge<'breaker'>;

  constructor(registry: Registry) {
    this.gauge = new Gauge({
      name: 'circuit_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open (probation), 2 open',
      labelNames: ['breaker'],
      registers: [registry],
      collect: () => {
        for (const [name] of this.entries) this.gauge.set({ breaker: name }, STATE_VALUE[this.stateOf(name)]);
      },
    });
  }

  add(name: string, options: BreakerThresholds & { dependency: string; isFailure: (error: Error) => boolean }): void {
    const breaker = new ProbationBreaker(options);
    const policy = circuitBreaker(handleWhen(options.isFailure), { halfOpenAfter: options.openMs, breaker });
    this.entries.set(name, { policy, breaker, dependency: options.dependency, successes: 0 });
  }

  async run<T>(name: string, work: () => Promise<T>): Promise<T> {
    const entry = this.entry(name);
    try {
      const result = await entry.policy.execute(work);
      entry.successes += 1;
      return result;
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        throw new DependencyUnavailableError(`${entry.dependency} (circuit open)`, error);
      }
      throw error;
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  stateOf(name: string): BreakerStateName {
    const entry = this.entry(name);
    switch (entry.policy.state) {
      case CircuitState.Open:
      case CircuitState.Isolated:
        return 'open';
      case CircuitState.HalfOpen:
        return 'half_open';
      default:
        return entry.breaker.probation > 0 ? 'half_open' : 'closed';
    }
  }

  snapshot(): Record<string, BreakerSnapshot> {
    const out: Record<string, BreakerSnapshot> = {};
    for (const [name, entry] of this.entries) {
      out[name] = { state: this.stateOf(name), failure_count: entry.breaker.failures, success_count: entry.successes };
    }
    return out;
  }

  /** Closes a breaker by hand (an operator knows the dependency is back). */
  reset(name: string): void {
    const entry = this.entry(name);
    // Cockatiel has no reset: isolating and releasing at once lands in Closed from any state.
    entry.policy.isolate().dispose();
    entry.breaker.reset();
  }

  private entry(name: string): Entry {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`unknown circuit breaker ${name}`);
    return entry;
  }
}

/** `overall_health` and `degraded_services` as the ops API reports them. */
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

const count = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const seconds = (fallback: number) => z.coerce.number().positive().default(fallback);

/**
 * The breaker settings every service with a database and an outbox reads from its
 * environment (contract defaults: PostgreSQL 3 failures / 30 s open / 2 successes). Spread
 * `.shape` into a service's config schema.
 */
export const StoreAndOutboxBreakerEnv = z.object({
  DATABASE_CIRCUIT_FAILURE_THRESHOLD: count(3),
  DATABASE_CIRCUIT_RECOVERY_TIMEOUT: seconds(30),
  DATABASE_CIRCUIT_SUCCESS_THRESHOLD: count(2),
  PUBLISH_CIRCUIT_FAILURE_THRESHOLD: count(5),
  PUBLISH_CIRCUIT_RECOVERY_TIMEOUT: seconds(10),
  PUBLISH_CIRCUIT_SUCCESS_THRESHOLD: count(3),
});
export type StoreAndOutboxBreakerConfig = z.infer<typeof StoreAndOutboxBreakerEnv>;

/** `postgres` (around its store) and `publishing` (around its outbox relay), thresholds from config. */
export function storeAndOutboxBreakers(registry: Registry, config: StoreAndOutboxBreakerConfig): CircuitBreakers {
  const breakers = new CircuitBreakers(registry);
  breakers.add('postgres', {
    dependency: 'PostgreSQL',
    failureThreshold: config.DATABASE_CIRCUIT_FAILURE_THRESHOLD,
    openMs: config.DATABASE_CIRCUIT_RECOVERY_TIMEOUT * 1000,
    successThreshold: config.DATABASE_CIRCUIT_SUCCESS_THRESHOLD,
    isFailure: failureOf('PostgreSQL'),
  });
  breakers.add('publishing', {
    dependency: 'RabbitMQ publishing',
    failureThreshold: config.PUBLISH_CIRCUIT_FAILURE_THRESHOLD,
    openMs: config.PUBLISH_CIRCUIT_RECOVERY_TIMEOUT * 1000,
    successThreshold: config.PUBLISH_CIRCUIT_SUCCESS_THRESHOLD,
    isFailure: failureOf('RabbitMQ'),
  });
  return breakers;
}
