import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DependencyUnavailableError, DomainError, IdempotencyKeyReusedError } from '@cupo/errors';

/** A response as the client saw it, kept so a repeated request gets it byte for byte. */
export interface StoredResponse {
  status: number;
  contentType: string;
  headers: Record<string, string>;
  body: unknown;
}

interface Entry {
  fingerprint: string;
  state: 'in_progress' | 'done';
  owner?: string;
  response?: StoredResponse;
}

export class IdempotencyInProgressError extends DomainError {
  constructor() {
    super('conflict', 'IDEMPOTENCY_IN_PROGRESS', 'The first request with this key is still running', undefined, 1);
  }
}

/** An ops call named an idempotency entry that neither the gateway nor enrollment keeps. */
export class IdempotencyKeyNotFoundError extends DomainError {
  constructor(key: string) {
    super('not_found', 'IDEMPOTENCY_KEY_NOT_FOUND', `No idempotency entry '${key}'`);
  }
}

/**
 * Replaces the value only while `owner` still holds the key (its lease may have lapsed), and
 * counts the stored answer in its minute's counter (KEYS[2]) for the ops census.
 */
const COMPLETE_IF_OWNER = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
if cjson.decode(raw)['owner'] ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1`;

/** The census counts stored answers per minute: an answer lives ttlSeconds from its minute. */
const CENSUS_BUCKET_SECONDS = 60;

const DELETE_IF_OWNER = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
if cjson.decode(raw)['owner'] ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`;

export interface IdempotencyOptions {
  keyPrefix: string;
  ttlSeconds: number;
  /** How long the first request may hold a key before a duplicate may take over. */
  leaseMs: number;
  /** How long a duplicate waits for the first request's answer. */
  waitMs: number;
  pollMs?: number;
  /** Wraps each Redis call (the gateway passes its `redis` circuit breaker). */
  guard?: <T>(call: () => Promise<T>) => Promise<T>;
}

/**
 * `Idempotency-Key` over Redis. The first request claims the key with SET NX and a lease;
 * duplicates that arrive meanwhile wait for its answer and return it. Answers below 500 are
 * kept for `ttlSeconds`; a 5xx (or a crash: the lease lapses) frees the key for a retry.
 */
export class IdempotencyStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: IdempotencyOptions,
  ) {}

  redisKey(key: string): string {
    return `${this.options.keyPrefix}idem:${key}`;
  }

  async execute(
    key: string,
    fingerprint: string,
    work: () => Promise<StoredResponse>,
  ): Promise<{ response: StoredResponse; replayed: boolean }> {
    const redisKey = this.redisKey(key);
    const waitUntil = Date.now() + this.options.waitMs;
    for (;;) {
      const owner = randomUUID();
      const claimed = await this.call(() =>
        this.redis.set(
          redisKey,
          JSON.stringify({ fingerprint, state: 'in_progress', owner } satisfies Entry),
          'PX',
          this.options.leaseMs,
          'NX',
        ),
      );
      if (claimed === 'OK') return { response: await this.runAsOwner(redisKey, owner, fingerprint, work), replayed: false };

      const raw = await this.call(() => this.redis.get(redisKey));
      if (raw) {
        const entry = JSON.parse(raw) as Entry;
        if (entry.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
        if (entry.state === 'done' && entry.response) return { response: entry.response, replayed: true };
      }
      // The first request is still working (or its lease just lapsed): wait, then look again.
      if (Date.now() >= waitUntil) throw new IdempotencyInProgressError();
      await new Promise((resolve) => setTimeout(resolve, this.options.pollMs ?? 10));
    }
  }

  /** Forgets a key (operators, and tests). */
  async forget(key: string): Promise<boolean> {
    return (await this.call(() => this.redis.del(this.redisKey(key)))) > 0;
  }

  private async runAsOwner(
    redisKey: string,
    owner: string,
    fingerprint: string,
    work: () => Promise<StoredResponse>,
  ): Promise<StoredResponse> {
    let response: StoredResponse;
    try {
      response = await work();
    } catch (error) {
      await this.redis.eval(DELETE_IF_OWNER, 1, redisKey, owner).catch(() => undefined);
      throw error;
    }
    if (response.status >= 500) {
      await this.redis.eval(DELETE_IF_OWNER, 1, redisKey, owner).catch(() => undefined);
    } else {
      const done: Entry = { fingerprint, state: 'done', owner, response };
      const { ttlSeconds } = this.options;
      await this.call(() =>
        this.redis.eval(
          COMPLETE_IF_OWNER,
          2,
          redisKey,
          this.censusKey(censusBucket(Date.now())),
          owner,
          JSON.stringify(done),
          ttlSeconds,
          ttlSeconds + 2 * CENSUS_BUCKET_SECONDS,
        ),
      );
    }
    return response;
  }

  private async call<T>(command: () => Promise<T>): Promise<T> {
    const translated = async () => {
      try {
        return await command();
      } catch (error) {
        throw new DependencyUnavailableError('Redis', error);
      }
    };
    return this.options.guard ? this.options.guard(translated) : translated();
  }

  /**
   * About how many answers are stored, for the ops stats: the per-minute counters of the last
   * `ttlSeconds` (one MGET of ttl/60 + 1 keys), so the cost does not grow with the number of
   * entries. It may count up to a minute's answers that have just expired, and answers an
   * operator forgot, until they would have expired.
   */
  async census(now = Date.now()): Promise<{ entries: number; approximate: true }> {
    const newest = censusBucket(now);
    const buckets = Math.ceil(this.options.ttlSeconds / CENSUS_BUCKET_SECONDS) + 1;
    const keys = Array.from({ length: buckets }, (_, i) => this.censusKey(newest - i));
    const counts = await this.call(() => this.redis.mget(...keys));
    return { entries: counts.reduce((sum, count) => sum + Number(count ?? 0), 0), approximate: true };
  }

  private censusKey(bucket: number): string {
    return `${this.options.keyPrefix}idem-census:${bucket}`;
  }
}

function censusBucket(epochMs: number): number {
  return Math.floor(epochMs / 1000 / CENSUS_BUCKET_SECONDS);
}

/** The same request means the same user, method, route and body (key order ignored). */
export function fingerprintOf(parts: { userId: string; method: string; route: string; body: unknown }): string {
  return createHash('sha256')
    .update(`${parts.userId}\n${parts.method} ${parts.route}\n${canonicalJson(parts.body)}`)
    .digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
