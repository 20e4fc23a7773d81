import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '@cupo/errors';
import { CircuitBreakers } from './registry.js';
import { failureOf, guardedByBreaker } from './store.js';

class FlakyStore {
  calls = 0;
  down = true;
  readonly label = 'store';
  async read(id: number): Promise<string> {
    this.calls += 1;
    if (this.down) throw new DependencyUnavailableError('PostgreSQL');
    return `row ${id}`;
  }
  async conflict(): Promise<never> {
    throw new Error('unique violation');
  }
}

function guarded() {
  const breakers = new CircuitBreakers(new Registry());
  breakers.add('postgres', {
    dependency: 'PostgreSQL',
    failureThreshold: 2,
    openMs: 60_000,
    successThreshold: 1,
    isFailure: failureOf('PostgreSQL'),
  });
  const store = new FlakyStore();
  return { breakers, store, guarded: guardedByBreaker(store, breakers, 'postgres') };
}

describe('guardedByBreaker', () => {
  it('runs every method through the breaker: once open, the store is not called at all', async () => {
    const { breakers, store, guarded: g } = guarded();
    await expect(g.read(1)).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(g.read(2)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(breakers.stateOf('postgres')).toBe('open');
    await expect(g.read(3)).rejects.toThrow(/circuit open/);
    expect(store.calls).toBe(2);
    store.down = false;
    breakers.reset('postgres');
    await expect(g.read(4)).resolves.toBe('row 4');
    expect(g.label).toBe('store');
  });

  it('lets errors that are the dependency working through without counting them', async () => {
    const { breakers, guarded: g } = guarded();
    for (let i = 0; i < 5; i++) await expect(g.conflict()).rejects.toThrow('unique violation');
    expect(breakers.stateOf('postgres')).toBe('closed');
  });

  it('translates first, so a raw failure becomes one the breaker counts', async () => {
    const breakers = new CircuitBreakers(new Registry());
    breakers.add('redis', { dependency: 'Redis', failureThreshold: 1, openMs: 60_000, successThreshold: 1, isFailure: failureOf('Redis') });
    const raw = {
      get: async () => {
        throw new Error('ECONNREFUSED');
      },
    };
    const translate = async <R>(work: () => Promise<R>): Promise<R> => {
      try {
        return await work();
      } catch (error) {
        throw new DependencyUnavailableError('Redis', error);
      }
    };
    await expect(guardedByBreaker(raw, breakers, 'redis', translate).get()).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(breakers.stateOf('redis')).toBe('open');
  });
});
