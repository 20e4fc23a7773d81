import type { Redis } from 'ioredis';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import Redlock, { ExecutionError, ResourceLockedError } from 'redlock';
import { ExponentialBackoff, handleType, retry } from 'cockatiel';
import { DependencyUnavailableError } from '@cupo/errors';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { HeldLock, RoomNightLocks } from '../../app/ports.js';
import { LockTimeoutError } from '../../domain/errors.js';

const tracer = trace.getTracer('@cupo/booking');

/** The nights are held by someone else right now (as opposed to Redis not answering). */
class LocksBusyError extends Error {}

export interface RoomNightLockOptions {
  /** Prepended to every key, so test runs (or tenants) sharing a Redis never collide. */
  keyPrefix: string;
  /** How long a lock lives if its holder never releases it (a crashed replica). */
  ttlMs: number;
  /** First and longest pause between attempts; jittered so waiters do not retry in step. */
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
}

/**
 * `lock:room:{roomId}:{date}` for every night of a stay, taken all at once (redlock sets all
 * keys in one script, or none) and in date order. Redlock's own retry loop is switched off
 * (`retryCount: 0`): this adapter retries with cockatiel's jittered backoff instead, so it
 * can ask between attempts whether waiting still makes sense, and it stops at the caller's
 * deadline rather than after a fixed ~2 s.
 */
export class RedisRoomNightLocks implements RoomNightLocks {
  private readonly redlock: Redlock;
  private readonly wait: Histogram<'outcome'>;
  private readonly failures: Counter<'reason'>;
  private readonly lost: Counter;

  constructor(
    redis: Redis,
    private readonly options: RoomNightLockOptions,
    registry: Registry,
  ) {
    this.redlock = new Redlock([redis], {
      retryCount: 0,
      driftFactor: 0.01,
      automaticExtensionThreshold: 500,
    });
    this.wait = new Histogram({
      name: 'booking_lock_wait_seconds',
      help: 'Time spent getting the room-night locks, by outcome',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.failures = new Counter({
      name: 'booking_lock_failures_total',
      help: 'Lock acquisitions that failed: timeout (held elsewhere too long) or redis (unreachable)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.lost = new Counter({
      name: 'booking_lock_expired_before_release_total',
      help: 'Locks whose TTL ran out while their holder still worked: the database arbitrated alone (raise LOCK_TTL_MS if this grows)',
      registers: [registry],
    });
  }

  keysFor(roomId: number, nights: string[]): string[] {
    return [...nights].sort().map((night) => `${this.options.keyPrefix}lock:room:${roomId}:${night}`);
  }

  /** In a span of its own (`lock room-nights`), the Redis commands of each attempt inside it. */
  acquire(roomId: number, nights: string[], options: { waitUntil: number; keepWaiting: () => Promise<void> }): Promise<HeldLock> {
    return tracer.startActiveSpan(
      'lock room-nights',
      { attributes: { 'cupo.room_id': roomId, 'cupo.nights': nights.length, 'db.system.name': 'redis' } },
      async (span) => {
        try {
          return await this.acquireAll(roomId, nights, options);
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  private async acquireAll(
    roomId: number,
    nights: string[],
    options: { waitUntil: number; keepWaiting: () => Promise<void> },
  ): Promise<HeldLock> {
    const keys = this.keysFor(roomId, nights);
    const started = process.hrtime.bigint();
    const observe = (outcome: string) => this.wait.observe({ outcome }, Number(process.hrtime.bigint() - started) / 1e9);
    const policy = retry(handleType(LocksBusyError), {
      maxAttempts: Number.MAX_SAFE_INTEGER,
      backoff: new ExponentialBackoff({
        initialDelay: this.options.retryInitialDelayMs,
        maxDelay: this.options.retryMaxDelayMs,
      }),
    });
    try {
      const lock = await policy.execute(async ({ attempt }) => {
        if (attempt > 0) {
          if (Date.now() >= options.waitUntil) throw new LockTimeoutError(roomId);
          await options.keepWaiting();
        }
        return this.tryOnce(keys);
      });
      observe('acquired');
      return {
        release: async () => {
          // A lock that expired (and maybe went to someone else) cannot be released: fine,
          // the database already arbitrated whatever happened while it was held.
          if (Date.now() >= lock.expiration) {
            this.lost.inc();
            return;
          }
          await lock.release().catch(() => this.lost.inc());
        },
      };
    } catch (error) {
      if (error instanceof LockTimeoutError) {
        this.failures.inc({ reason: 'timeout' });
        observe('timeout');
      } else if (error instanceof DependencyUnavailableError) {
        this.failures.inc({ reason: 'redis' });
        observe('redis_unavailable');
      } else {
        observe('gave_up');
      }
      throw error;
    }
  }

  private async tryOnce(keys: string[]) {
    try {
      return await this.redlock.acquire(keys, this.options.ttlMs);
    } catch (error) {
      if (error instanceof ExecutionError && (await heldElsewhere(error))) {
        throw new LocksBusyError();
      }
      throw new DependencyUnavailableError('Redis', error);
    }
  }
}

/** Redlock 5 reports contention as ExecutionError with ResourceLockedError votes inside. */
async function heldElsewhere(error: ExecutionError): Promise<boolean> {
  const attempts = await Promise.all(error.attempts);
  const votes = attempts.flatMap((stats) => [...stats.votesAgainst.values()]);
  return votes.length > 0 && votes.every((vote) => vote instanceof ResourceLockedError);
}
