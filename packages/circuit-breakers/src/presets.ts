import type { Registry } from 'prom-client';
import { z } from 'zod';
import { CircuitBreakers } from './registry.js';
import { failureOf } from './store.js';

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

/** Only a database: the PostgreSQL settings of StoreAndOutboxBreakerEnv. */
export const DatabaseBreakerEnv = StoreAndOutboxBreakerEnv.pick({
  DATABASE_CIRCUIT_FAILURE_THRESHOLD: true,
  DATABASE_CIRCUIT_RECOVERY_TIMEOUT: true,
  DATABASE_CIRCUIT_SUCCESS_THRESHOLD: true,
});
export type DatabaseBreakerConfig = z.infer<typeof DatabaseBreakerEnv>;

/**
 * The outside providers' breakers (the worker's directory, LMS, mail and student-information
 * source), one per provider with the same thresholds: 5 failed requests in a row open it for
 * 15 s; 2 successes close it again.
 */
export const ProviderBreakerEnv = z.object({
  PROVIDER_CIRCUIT_FAILURE_THRESHOLD: count(5),
  PROVIDER_CIRCUIT_RECOVERY_TIMEOUT: seconds(15),
  PROVIDER_CIRCUIT_SUCCESS_THRESHOLD: count(2),
});
export type ProviderBreakerConfig = z.infer<typeof ProviderBreakerEnv>;

/** Adds `postgres` (to wrap a store with guardedByBreaker and withDatabase). */
export function addDatabaseBreaker(breakers: CircuitBreakers, config: DatabaseBreakerConfig): CircuitBreakers {
  breakers.add('postgres', {
    dependency: 'PostgreSQL',
    failureThreshold: config.DATABASE_CIRCUIT_FAILURE_THRESHOLD,
    openMs: config.DATABASE_CIRCUIT_RECOVERY_TIMEOUT * 1000,
    successThreshold: config.DATABASE_CIRCUIT_SUCCESS_THRESHOLD,
    isFailure: failureOf('PostgreSQL'),
  });
  return breakers;
}

/** `postgres` (around its store) and `publishing` (around its outbox relay), thresholds from config. */
export function storeAndOutboxBreakers(registry: Registry, config: StoreAndOutboxBreakerConfig): CircuitBreakers {
  const breakers = addDatabaseBreaker(new CircuitBreakers(registry), config);
  breakers.add('publishing', {
    dependency: 'RabbitMQ publishing',
    failureThreshold: config.PUBLISH_CIRCUIT_FAILURE_THRESHOLD,
    openMs: config.PUBLISH_CIRCUIT_RECOVERY_TIMEOUT * 1000,
    successThreshold: config.PUBLISH_CIRCUIT_SUCCESS_THRESHOLD,
    isFailure: failureOf('RabbitMQ'),
  });
  return breakers;
}

/** Adds one breaker per provider, each counting what `isFailure` says is that provider being away. */
export function addProviderBreakers(
  breakers: CircuitBreakers,
  config: ProviderBreakerConfig,
  providers: Record<string, { dependency: string; isFailure: (error: Error) => boolean }>,
): CircuitBreakers {
  for (const [name, provider] of Object.entries(providers)) {
    breakers.add(name, {
      ...provider,
      failureThreshold: config.PROVIDER_CIRCUIT_FAILURE_THRESHOLD,
      openMs: config.PROVIDER_CIRCUIT_RECOVERY_TIMEOUT * 1000,
      successThreshold: config.PROVIDER_CIRCUIT_SUCCESS_THRESHOLD,
    });
  }
  return breakers;
}

/** Redis (contract defaults: 5 failures / 10 s open / 3 successes to close). */
export const RedisBreakerEnv = z.object({
  REDIS_CIRCUIT_FAILURE_THRESHOLD: count(5),
  REDIS_CIRCUIT_RECOVERY_TIMEOUT: seconds(10),
  REDIS_CIRCUIT_SUCCESS_THRESHOLD: count(3),
});
export type RedisBreakerConfig = z.infer<typeof RedisBreakerEnv>;

/** Adds `redis`, counting DependencyUnavailableError('Redis…'). */
export function addRedisBreaker(breakers: CircuitBreakers, config: RedisBreakerConfig): CircuitBreakers {
  breakers.add('redis', {
    dependency: 'Redis',
    failureThreshold: config.REDIS_CIRCUIT_FAILURE_THRESHOLD,
    openMs: config.REDIS_CIRCUIT_RECOVERY_TIMEOUT * 1000,
    successThreshold: config.REDIS_CIRCUIT_SUCCESS_THRESHOLD,
    isFailure: failureOf('Redis'),
  });
  return breakers;
}
