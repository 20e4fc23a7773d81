import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '@cupo/errors';
import { addProviderBreakers, ProviderBreakerEnv, StoreAndOutboxBreakerEnv, storeAndOutboxBreakers } from './presets.js';

describe('breaker presets', () => {
  it('read the contract defaults from an empty environment', () => {
    expect(StoreAndOutboxBreakerEnv.parse({})).toMatchObject({
      DATABASE_CIRCUIT_FAILURE_THRESHOLD: 3,
      DATABASE_CIRCUIT_RECOVERY_TIMEOUT: 30,
      DATABASE_CIRCUIT_SUCCESS_THRESHOLD: 2,
    });
    expect(ProviderBreakerEnv.parse({ PROVIDER_CIRCUIT_FAILURE_THRESHOLD: '7' })).toEqual({
      PROVIDER_CIRCUIT_FAILURE_THRESHOLD: 7,
      PROVIDER_CIRCUIT_RECOVERY_TIMEOUT: 15,
      PROVIDER_CIRCUIT_SUCCESS_THRESHOLD: 2,
    });
    expect(() => ProviderBreakerEnv.parse({ PROVIDER_CIRCUIT_FAILURE_THRESHOLD: '0' })).toThrow();
  });

  it('give postgres and publishing their own thresholds, each counting only its dependency', async () => {
    const b = storeAndOutboxBreakers(
      new Registry(),
      StoreAndOutboxBreakerEnv.parse({ DATABASE_CIRCUIT_FAILURE_THRESHOLD: '1', PUBLISH_CIRCUIT_FAILURE_THRESHOLD: '2' }),
    );
    expect(b.names()).toEqual(['postgres', 'publishing']);
    await expect(
      b.run('publishing', async () => {
        throw new DependencyUnavailableError('PostgreSQL');
      }),
    ).rejects.toThrow();
    expect(b.stateOf('publishing')).toBe('closed');
    await expect(
      b.run('postgres', async () => {
        throw new DependencyUnavailableError('PostgreSQL');
      }),
    ).rejects.toThrow();
    expect(b.stateOf('postgres')).toBe('open');
  });

  it('add one breaker per provider with the provider thresholds', async () => {
    const b = storeAndOutboxBreakers(new Registry(), StoreAndOutboxBreakerEnv.parse({}));
    class Away extends Error {}
    addProviderBreakers(b, ProviderBreakerEnv.parse({ PROVIDER_CIRCUIT_FAILURE_THRESHOLD: '2' }), {
      lms: { dependency: 'LMS', isFailure: (e) => e instanceof Away },
      email: { dependency: 'mail', isFailure: (e) => e instanceof Away },
    });
    expect(b.names()).toEqual(['postgres', 'publishing', 'lms', 'email']);
    for (let i = 0; i < 2; i++)
      await expect(
        b.run('lms', async () => {
          throw new Away();
        }),
      ).rejects.toThrow();
    expect(b.stateOf('lms')).toBe('open');
    expect(b.stateOf('email')).toBe('closed');
    expect(b.refusingFor('lms')).toBeGreaterThan(14_000);
  });
});
