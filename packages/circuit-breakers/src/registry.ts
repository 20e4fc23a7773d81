import { BrokenCircuitError, CircuitState, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import { Gauge, type Registry } from 'prom-client';
import { DependencyUnavailableError } from '@cupo/errors';
import { ProbationBreaker, type BreakerSnapshot, type BreakerStateName, type BreakerThresholds } from './breaker.js';

interface Entry {
  policy: CircuitBreakerPolicy;
  breaker: ProbationBreaker;
  dependency: string;
  openMs: number;
  /** When the circuit last opened (epoch ms); the trial call is let through `openMs` later. */
  openedAt: number;
  successes: number;
}

const STATE_VALUE: Record<BreakerStateName, number> = { closed: 0, half_open: 1, open: 2 };

/** What a breaker needs besides its thresholds. */
export interface BreakerOptions extends BreakerThresholds {
  /** Names the dependency in DependencyUnavailableError ("PostgreSQL (circuit open)"). */
  dependency: string;
  /** Which errors are the dependency failing (the others pass through uncounted). */
  isFailure: (error: Error) => boolean;
}

/**
 * The breakers of one process, by name (`postgres`, `publishing`, `redis`, `directory`…). A
 * call through an open breaker fails at once with DependencyUnavailableError (503 at the
 * edge) instead of waiting on a dependency that is known to be down.
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

  add(name: string, options: BreakerOptions): void {
    if (this.entries.has(name)) throw new Error(`two circuit breakers named ${name}`);
    const breaker = new ProbationBreaker(options);
    const policy = circuitBreaker(handleWhen(options.isFailure), { halfOpenAfter: options.openMs, breaker });
    const entry: Entry = { policy, breaker, dependency: options.dependency, openMs: options.openMs, openedAt: 0, successes: 0 };
    policy.onBreak(() => {
      entry.openedAt = Date.now();
    });
    this.entries.set(name, entry);
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
        // Cockatiel moves to half-open only when the next call comes; a breaker whose open
        // period is over lets that call through, so it reads as half-open, not open, meanwhile.
        return this.refusingFor(name) > 0 ? 'open' : 'half_open';
      case CircuitState.Isolated:
        return 'open';
      case CircuitState.HalfOpen:
        return 'half_open';
      default:
        return entry.breaker.probation > 0 ? 'half_open' : 'closed';
    }
  }

  /**
   * How long the breaker still refuses every call (ms): 0 when closed, half-open, or open
   * with its trial call due. Lets a caller put work aside instead of knocking on a closed door.
   */
  refusingFor(name: string): number {
    const entry = this.entry(name);
    if (entry.policy.state === CircuitState.Isolated) return entry.openMs;
    if (entry.policy.state !== CircuitState.Open) return 0;
    return Math.max(0, entry.openedAt + entry.openMs - Date.now());
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
