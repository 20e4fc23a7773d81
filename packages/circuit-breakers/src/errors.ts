import { DomainError } from '@cupo/errors';

/** An ops call named a breaker no process has. */
export class CircuitBreakerNotFoundError extends DomainError {
  constructor(name: string) {
    super('not_found', 'CIRCUIT_BREAKER_NOT_FOUND', `No circuit breaker named '${name}'`);
  }
}
