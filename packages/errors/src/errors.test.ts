import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError, DomainError, httpStatusOf, isRefusal, isTransient, type ErrorKind } from './index.js';

const KINDS: Record<ErrorKind, 'refusal' | 'transient' | 'fault'> = {
  invalid: 'refusal',
  unauthorized: 'refusal',
  forbidden: 'refusal',
  not_found: 'refusal',
  conflict: 'refusal',
  unprocessable: 'refusal',
  rate_limited: 'refusal',
  unavailable: 'transient',
  timeout: 'transient',
  internal: 'fault',
};

class OfKind extends DomainError {
  constructor(kind: ErrorKind) {
    super(kind, 'TEST', `a ${kind} error`);
  }
}

describe('the error vocabulary', () => {
  it.each(Object.entries(KINDS) as [ErrorKind, string][])('takes a %s error for a %s', (kind, meaning) => {
    const error = new OfKind(kind);
    expect(isRefusal(error)).toBe(meaning === 'refusal');
    expect(isTransient(error)).toBe(meaning === 'transient');
  });

  it('takes anything that is not a domain error for a fault: neither a refusal nor transient', () => {
    for (const error of [new Error('boom'), new TypeError('x is undefined'), 'a string', undefined]) {
      expect(isRefusal(error)).toBe(false);
      expect(isTransient(error)).toBe(false);
    }
  });

  it('takes a dependency that is away for transient, and maps each kind to its HTTP status once', () => {
    expect(isTransient(new DependencyUnavailableError('PostgreSQL'))).toBe(true);
    expect(httpStatusOf(new OfKind('not_found'))).toBe(404);
    expect(httpStatusOf(new OfKind('timeout'))).toBe(504);
  });
});
