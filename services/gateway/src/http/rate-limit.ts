import type { Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { DependencyUnavailableError, DomainError } from '@cupo/errors';
import type { Logger } from '@cupo/service-kit';
import { MemoryWindowCounter } from './memory-window.js';

/** Requests per window, per client address and per user, for reads and for writes. */
export interface RateLimitBudgets {
  windowSeconds: number;
  clientReads: number;
  clientWrites: number;
  userReads: number;
  userWrites: number;
}

type Scope = 'client' | 'user';
type Policy = `${Scope}-${'read' | 'write'}`;
const POLICIES: Policy[] = ['client-read', 'client-write', 'user-read', 'user-write'];

/** Everything else changes something, or asks for work to be kept (a query lives 24 h). */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class RateLimitedError extends DomainError {
  constructor(policy: Policy, retryAfterSeconds: number) {
    super(
      'rate_limited',
      'RATE_LIMITED',
      `Too many requests (${policy}): try again in ${retryAfterSeconds} s`,
      undefined,
      retryAfterSeconds,
    );
  }
}

interface Spent {
  policy: Policy;
  quota: number;
  remaining: number;
  resetSeconds: number;
}

/**
 * Request budgets shared by every gateway replica: fixed-window counters in Redis
 * (rate-limiter-flexible, one Lua call per request and budget), keyed per client address
 * and per user, with separate budgets for reads and writes.
 *
 * Redis down must not take the API down, so the limiter fails open to a smaller guarantee:
 * when Redis cannot answer (or the `redis` breaker is open, so nobody waits for it) each
 * replica enforces the same budgets from its own memory — N replicas then let up to N times
 * a budget through until Redis is back; that memory counts at most FALLBACK_KEYS clients or
 * users per budget (least recently seen out first), so a flood of addresses cannot grow it. Each answer carries the IETF `RateLimit-Policy` and
 * `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers); a refusal is `429 RATE_LIMITED`
 * with `Retry-After`.
 */
export class RateLimits {
  private readonly shared = new Map<Policy, RateLimiterRedis>();
  /** The fallback's counters, per budget: each holds at most FALLBACK_KEYS clients or users. */
  private readonly local = new Map<Policy, MemoryWindowCounter>();
  private lastFallbackLog = 0;
  private readonly refusals: Counter<'policy'>;
  private readonly fallbacks: Counter;

  constructor(
    redis: Redis,
    private readonly options: {
      keyPrefix: string;
      budgets: RateLimitBudgets;
      /** Wraps each Redis call (the gateway passes its `redis` circuit breaker). */
      guard?: <T>(call: () => Promise<T>) => Promise<T>;
      logger?: Logger;
      registry: Registry;
    },
  ) {
    this.refusals = new Counter({
      name: 'rate_limit_refusals_total',
      help: 'Requests answered 429, by budget',
      labelNames: ['policy'],
      registers: [options.registry],
    });
    this.fallbacks = new Counter({
      name: 'rate_limit_memory_fallbacks_total',
      help: 'Budget checks counted in this replica’s memory because Redis could not answer',
      registers: [options.registry],
    });
    const duration = options.budgets.windowSeconds;
    for (const policy of POLICIES) {
      const points = this.quotaOf(policy);
      this.shared.set(
        policy,
        new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: `${options.keyPrefix}ratelimit:${policy}`,
          points,
          duration,
          rejectIfRedisNotReady: true,
        }),
      );
      this.local.set(policy, new MemoryWindowCounter(duration * 1000));
    }
  }

  /** Per client address (as `trust proxy` resolves it): mount before anything costly. */
  perClient(): RequestHandler {
    return async (req, res, next) => {
      await this.spend(req, res, 'client', req.ip ?? req.socket.remoteAddress ?? 'unknown');
      next();
    };
  }

  /** Per user: mount right after the token is verified (an unverified `sub` could spend someone else's budget). */
  perUser(): RequestHandler {
    return async (req, res, next) => {
      if (req.actor) await this.spend(req, res, 'user', req.actor.id);
      next();
    };
  }

  private quotaOf(policy: Policy): number {
    const b = this.options.budgets;
    return { 'client-read': b.clientReads, 'client-write': b.clientWrites, 'user-read': b.userReads, 'user-write': b.userWrites }[policy];
  }

  private async spend(req: Request, res: Response, scope: Scope, key: string): Promise<void> {
    const policy: Policy = `${scope}-${READ_METHODS.has(req.method) ? 'read' : 'write'}`;
    const quota = this.quotaOf(policy);
    const result = await this.consume(policy, key);
    const resetSeconds = Math.max(1, Math.ceil(result.msBeforeNext / 1000));
    const spent: Spent[] = (res.locals.rateLimits ??= []);
    spent.push({ policy, quota, remaining: Math.max(0, quota - result.consumedPoints), resetSeconds });
    const window = this.options.budgets.windowSeconds;
    res.set('RateLimit-Policy', spent.map((s) => `"${s.policy}";q=${s.quota};w=${window}`).join(', '));
    res.set('RateLimit', spent.map((s) => `"${s.policy}";r=${s.remaining};t=${s.resetSeconds}`).join(', '));
    if (result.consumedPoints > quota) {
      this.refusals.inc({ policy });
      throw new RateLimitedError(policy, resetSeconds);
    }
  }

  /** The counter after this request: from Redis, or from this replica's memory while Redis cannot answer. */
  private async consume(policy: Policy, key: string): Promise<{ consumedPoints: number; msBeforeNext: number }> {
    const shared = this.shared.get(policy)!;
    const call = () =>
      shared.consume(key).catch((error: unknown) => {
        // Over the budget is an answer (Redis worked); anything else is Redis failing.
        if (error instanceof RateLimiterRes) return error;
        throw new DependencyUnavailableError('Redis', error);
      });
    try {
      return await (this.options.guard ? this.options.guard(call) : call());
    } catch (error) {
      this.fallbacks.inc();
      this.logFallback(error);
      return this.local.get(policy)!.consume(key);
    }
  }

  private logFallback(error: unknown): void {
    if (Date.now() - this.lastFallbackLog < 10_000) return;
    this.lastFallbackLog = Date.now();
    this.options.logger?.warn({ err: error }, 'rate limits: Redis unavailable, counting in this replica’s memory');
  }
}
