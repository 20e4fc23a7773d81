import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { defaultUrls } from '@cupo/stack';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { IdempotencyStore } from '../../services/gateway/src/idempotency/idempotency-store.js';

const redis = new Redis(defaultUrls().redisUrl);
const prefix = `cupo:it:${randomUUID()}:`;
const store = new IdempotencyStore(redis, { keyPrefix: prefix, ttlSeconds: 60, leaseMs: 2_000, waitMs: 3_000 });
const created = (body: unknown) => ({ status: 201, contentType: 'application/json', headers: {}, body });

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

describe('the idempotency store', () => {
  it('runs the work once for parallel duplicates and gives them all its answer', async () => {
    let runs = 0;
    const work = async () => {
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
      return created({ n: runs });
    };
    const results = await Promise.all(Array.from({ length: 10 }, () => store.execute('k1', 'fp', work)));
    expect(runs).toBe(1);
    expect(results.map((r) => r.response.body)).toEqual(Array(10).fill({ n: 1 }));
    expect(results.filter((r) => r.replayed)).toHaveLength(9);
  });

  it('refuses the same key with another fingerprint, also while the first is running', async () => {
    const slow = store.execute('k2', 'fp-a', async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return created({});
    });
    await expect(store.execute('k2', 'fp-b', async () => created({}))).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
    await slow;
    await expect(store.execute('k2', 'fp-b', async () => created({}))).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
  });

  it('keeps no 5xx answer: a retry runs the work again', async () => {
    let runs = 0;
    const flaky = async () => {
      runs += 1;
      return runs === 1 ? { ...created({}), status: 503 } : created({ ok: true });
    };
    expect((await store.execute('k3', 'fp', flaky)).response.status).toBe(503);
    expect((await store.execute('k3', 'fp', flaky)).response.status).toBe(201);
    expect(runs).toBe(2);
  });

  it('lets a duplicate take over when the first holder dies (its lease lapses)', async () => {
    const shortLease = new IdempotencyStore(redis, { keyPrefix: prefix, ttlSeconds: 60, leaseMs: 150, waitMs: 2_000 });
    void shortLease.execute('k4', 'fp', () => new Promise(() => undefined)); // never answers
    await new Promise((resolve) => setTimeout(resolve, 20));
    const taken = await shortLease.execute('k4', 'fp', async () => created({ second: true }));
    expect(taken).toEqual({ response: created({ second: true }), replayed: false });
  });

  it('keeps answers for the configured time', async () => {
    await store.execute('k5', 'fp', async () => created({}));
    const ttl = await redis.ttl(`${prefix}idem:k5`);
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);
  });
});

describe('the idempotency census (ops stats)', () => {
  it('counts the stored answers with one command, however many there are', async () => {
    const own = new IdempotencyStore(redis, { keyPrefix: `${prefix}census:`, ttlSeconds: 600, leaseMs: 2_000, waitMs: 3_000 });
    for (let chunk = 0; chunk < 3; chunk++) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => own.execute(`c-${chunk}-${i}`, 'fp', async () => created({}))));
    }
    // A failed attempt stores nothing, so it is not counted.
    await own.execute('c-failed', 'fp', async () => ({ ...created({}), status: 503 }));

    const sent = vi.spyOn(redis, 'sendCommand');
    const census = await own.census();
    const commands = sent.mock.calls.map(([command]) => (command as { name: string }).name);
    sent.mockRestore();
    expect(census).toEqual({ entries: 300, approximate: true });
    // No SCAN or KEYS over the keyspace: the cost does not grow with the data.
    expect(commands).toEqual(['mget']);
  });

  it('stops counting answers once they have expired', async () => {
    const own = new IdempotencyStore(redis, { keyPrefix: `${prefix}census-ttl:`, ttlSeconds: 120, leaseMs: 2_000, waitMs: 3_000 });
    await own.execute('one', 'fp', async () => created({}));
    expect((await own.census()).entries).toBe(1);
    expect((await own.census(Date.now() + (120 + 61) * 1000)).entries).toBe(0);
  });
});

describe('the idempotency store behind the redis circuit breaker', () => {
  it('fails fast with DEPENDENCY_UNAVAILABLE once Redis is unreachable, and recovers', async () => {
    const { CircuitBreakers } = await import('@cupo/circuit-breakers');
    const { DependencyUnavailableError } = await import('@cupo/errors');
    const { TcpProxy } = await import('@cupo/stack');
    const { Registry } = await import('prom-client');
    const target = new URL(defaultUrls().redisUrl);
    const proxy = await new TcpProxy({ host: target.hostname, port: Number(target.port || 6379) }).start();
    const viaProxy = new Redis(proxy.rewrite(defaultUrls().redisUrl), {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: 500, // as the gateway sets it (REDIS_COMMAND_TIMEOUT_MS)
      retryStrategy: () => 50,
    });
    viaProxy.on('error', () => undefined);
    const breakers = new CircuitBreakers(new Registry());
    breakers.add('redis', {
      dependency: 'Redis',
      failureThreshold: 5,
      openMs: 300,
      successThreshold: 3,
      isFailure: (error) => error instanceof DependencyUnavailableError && error.details?.dependency === 'Redis',
    });
    const guarded = new IdempotencyStore(viaProxy, {
      keyPrefix: prefix,
      ttlSeconds: 60,
      leaseMs: 2_000,
      waitMs: 3_000,
      guard: (call) => breakers.run('redis', call),
    });
    try {
      await new Promise((resolve) => (viaProxy.status === 'ready' ? resolve(undefined) : viaProxy.once('ready', resolve)));
      await expect(guarded.execute('b1', 'fp', async () => created({}))).resolves.toMatchObject({ replayed: false });

      proxy.refuse(true);
      for (let i = 0; i < 5; i++) {
        await expect(guarded.execute(`b-down-${i}`, 'fp', async () => created({}))).rejects.toBeInstanceOf(DependencyUnavailableError);
      }
      expect(breakers.stateOf('redis')).toBe('open');
      const started = performance.now();
      await expect(guarded.execute('b-fast', 'fp', async () => created({}))).rejects.toThrow(/circuit open/);
      expect(performance.now() - started).toBeLessThan(50);

      proxy.refuse(false);
      await new Promise((resolve) => setTimeout(resolve, 400));
      await new Promise((resolve) => (viaProxy.status === 'ready' ? resolve(undefined) : viaProxy.once('ready', resolve)));
      for (let i = 0; i < 3; i++) await guarded.execute(`b-up-${i}`, 'fp', async () => created({}));
      expect(breakers.stateOf('redis')).toBe('closed');
    } finally {
      viaProxy.disconnect();
      await proxy.close();
    }
  });
});
