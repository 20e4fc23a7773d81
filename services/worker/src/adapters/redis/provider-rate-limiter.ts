import { DependencyUnavailableError } from '@cupo/errors';
import type { Redis } from 'ioredis';
import type { ProviderName, RateLimiter } from '../../app/onboarding/ports.js';

/**
 * Reserves the next free slot for a provider, atomically in Redis so every worker replica
 * shares one schedule: slots are `interval = 60 s / limit` apart, so no window of any length
 * holds more calls than the limit allows — a fixed-window counter (rate-limiter-flexible's
 * RateLimiterRedis) lets up to twice the limit through across a window edge, and it has no
 * notion of waiting for a turn. Returns the wait; the caller sleeps it (or gives up on
 * shutdown), then calls.
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, last + interval)
redis.call('SET', KEYS[1], slot, 'PX', math.ceil(interval + (slot - now) + 60000))
return slot - now`;

export class RedisProviderRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  async reserve(provider: ProviderName, perMinute: number): Promise<number> {
    // 2% headroom: a request reaches the provider a little after its slot, and not always
    // equally late; without a margin two late-and-early neighbours could crowd one window.
    const interval = Math.ceil((60_000 / perMinute) * 1.02);
    try {
      return Number(await this.redis.eval(RESERVE, 1, `${this.keyPrefix}ratelimit:${provider}`, interval));
    } catch (error) {
      // Redis away (the client fails fast, with no offline queue): our outage, not the
      // provider's, so the workflow waits for it without using up its attempts.
      throw new DependencyUnavailableError('Redis', error);
    }
  }
}
