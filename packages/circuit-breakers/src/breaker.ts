import { CircuitState, type IBreaker } from 'cockatiel';

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
export class ProbationBreaker implements IBreaker {
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
