import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export type { Redis } from 'ioredis';

/**
 * The services' Redis client: it fails fast while Redis is away instead of parking commands
 * in memory (no offline queue, one retry), so a booking never waits on a lock request that
 * Redis will not see, and callers' circuit breakers see the outage at once.
 */
export function connectRedis(options: { url: string; commandTimeoutMs: number; logger: Logger }): Redis {
  const redis = new Redis(options.url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // A command written just as the connection dies would otherwise wait for a reply forever.
    commandTimeout: options.commandTimeoutMs,
  });
  redis.on('error', (error: Error) => options.logger.warn({ err: error.message }, 'redis error'));
  return redis;
}

/** Resolves once the client is connected (without an offline queue, commands sent earlier fail). */
export function redisReady(redis: Redis): Promise<void> {
  return new Promise((resolve) => (redis.status === 'ready' ? resolve() : redis.once('ready', () => resolve())));
}

/** A /readyz check: Redis answers a PING. */
export const redisReadiness = (redis: Redis) => async (): Promise<void> => void (await redis.ping());

/** The settings serviceEnv.redis() gives every service that uses Redis. */
export interface RedisEnv {
  REDIS_URL: string;
  REDIS_COMMAND_TIMEOUT_MS: number;
}

/** A service's client from its config and its /readyz check. */
export function redisFromEnv(config: RedisEnv, logger: Logger): { client: Redis; check: () => Promise<void> } {
  const client = connectRedis({ url: config.REDIS_URL, commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, logger });
  return { client, check: redisReadiness(client) };
}
