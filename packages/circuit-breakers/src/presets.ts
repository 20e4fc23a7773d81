import type { Registry } from 'prom-client';
import { z } from 'zod';
import { CircuitBreakers } from './registry.js';
import { failureOf } from './store.js';

const count = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const seconds = (fallback: number) => z.coerce.number().positive().default(fallback);

/** One breaker's three settings under its prefix: `<P>_CIRCUIT_FAILURE_THRESHOLD` and so on. */
type BreakerSettingName<P extends string> = `${P}_CIRCUIT_${'FAILURE_THRESHOLD' | 'RECOVERY_TIMEOUT' | 'SUCCESS_THRESHOLD'}`;

/**
 * The zod shape of one breaker's `<prefix>_CIRCUIT_FAILURE_THRESHOLD`, `_RECOVERY_TIMEOUT`
 * (seconds) and `_SUCCESS_THRESHOLD`, with their defaults.
 */
function breakerEnv<P extends string>(prefix: P, defaults: { failures: number; openSeconds: number; successes: number }) {
  const shape = {
    [`${prefix}_CIRCUIT_FAILURE_THRESHOLD`]: count(defaults.failures),
    [`${prefix}_CIRCUIT_RECOVERY_TIMEOUT`]: seconds(defaults.openSeconds),
    [`${prefix}_CIRCUIT_SUCCESS_THRESHOLD`]: count(defaults.successes),
  };
  // A computed key widens to `string`; the three names are exactly these.
  return shape as Record<BreakerSettingName<P>, (typeof shape)[string]>;
}

/** A breaker's thresholds from its `<prefix>_CIRCUIT_*` settings. */
function thresholdsOf<P extends string>(config: Record<BreakerSettingName<P>, number>, prefix: P) {
  return {
    failureThreshold: config[`${prefix}_CIRCUIT_FAILURE_THRESHOLD`],
    openMs: config[`${prefix}_CIRCUIT_RECOVERY_TIMEOUT`] * 1000,
    successThreshold: config[`${prefix}_CIRCUIT_SUCCESS_THRESHOLD`],
  };
}

/** PostgreSQL: `DATABASE_CIRCUIT_*` (contract defaults: 3 failures / 30 s open / 2 successes). */
export const DatabaseBreakerEnv = z.object(breakerEnv('DATABASE', { failures: 3, openSeconds: 30, successes: 2 }));
export type DatabaseBreakerConfig = z.infer<typeof DatabaseBreakerEnv>;

/**
 * The breaker settings every service with a database and an outbox reads from its
 * environment: DatabaseBreakerEnv and `PUBLISH_CIRCUIT_*` (5 failures / 10 s open / 3
 * successes). Spread `.shape` into a service's config schema.
 */
export const StoreAndOutboxBreakerEnv = DatabaseBreakerEnv.extend(breakerEnv('PUBLISH', { failures: 5, openSeconds: 10, successes: 3 }));
export type StoreAndOutboxBreakerConfig = z.infer<typeof StoreAndOutboxBreakerEnv>;

/**
 * The outside providers' breakers (the worker's directory, LMS, mail and student-information
 * source), one per provider with the same `PROVIDER_CIRCUIT_*` thresholds: 5 failed requests
 * in a row open it for 15 s; 2 successes close it again.
 */
export const ProviderBreakerEnv = z.object(breakerEnv('PROVIDER', { failures: 5, openSeconds: 15, successes: 2 }));
export type ProviderBreakerConfig = z.infer<typeof ProviderBreakerEnv>;

/** Redis: `REDIS_CIRCUIT_*` (contract defaults: 5 failures / 10 s open / 3 successes to close). */
export const RedisBreakerEnv = z.object(breakerEnv('REDIS', { failures: 5, openSeconds: 10, successes: 3 }));
export type RedisBreakerConfig = z.infer<typeof RedisBreakerEnv>;

/** Adds `postgres` (to wrap a store with guardedByBreaker and withDatabase). */
export function addDatabaseBreaker(breakers: CircuitBreakers, config: DatabaseBreakerConfig): CircuitBreakers {
  breakers.add('postgres', { dependency: 'PostgreSQL', ...thresholdsOf(config, 'DATABASE'), isFailure: failureOf('PostgreSQL') });
  return breakers;
}

/** `postgres` (around its store) and `publishing` (around its outbox relay), thresholds from config. */
export function storeAndOutboxBreakers(registry: Registry, config: StoreAndOutboxBreakerConfig): CircuitBreakers {
  const breakers = addDatabaseBreaker(new CircuitBreakers(registry), config);
  breakers.add('publishing', { dependency: 'RabbitMQ publishing', ...thresholdsOf(config, 'PUBLISH'), isFailure: failureOf('RabbitMQ') });
  return breakers;
}

/** Adds one breaker per provider, each counting what `isFailure` says is that provider being away. */
export function addProviderBreakers(
  breakers: CircuitBreakers,
  config: ProviderBreakerConfig,
  providers: Record<string, { dependency: string; isFailure: (error: Error) => boolean }>,
): CircuitBreakers {
  for (const [name, provider] of Object.entries(providers)) {
    breakers.add(name, { ...provider, ...thresholdsOf(config, 'PROVIDER') });
  }
  return breakers;
}

/** Adds `redis`, counting DependencyUnavailableError('Redis…'). */
export function addRedisBreaker(breakers: CircuitBreakers, config: RedisBreakerConfig): CircuitBreakers {
  breakers.add('redis', { dependency: 'Redis', ...thresholdsOf(config, 'REDIS'), isFailure: failureOf('Redis') });
  return breakers;
}
