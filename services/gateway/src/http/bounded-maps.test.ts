import type { AddressInfo } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import pino from 'pino';
import { Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '@cupo/contracts';
import { authenticate } from './auth.js';
import { BoundedLru } from './bounded-lru.js';
import { MemoryWindowCounter } from './memory-window.js';
import { requestMetrics } from './observe.js';
import { problemHandler } from './problem.js';
import { RateLimits } from './rate-limit.js';

/**
 * Issue 16.4: nothing the gateway keeps per token, client, user or route grows without bound,
 * however many distinct ones arrive. Each map is driven past its cap and measured.
 */
describe('BoundedLru', () => {
  it('never holds more than its capacity, and evicts the least recently used', () => {
    const lru = new BoundedLru<number, number>(100);
    for (let i = 0; i < 100_000; i++) {
      lru.set(i, i);
      if (i % 50 === 0) lru.get(0); // key 0 stays in use
      if (i % 1000 === 0) expect(lru.size).toBeLessThanOrEqual(100);
    }
    expect(lru.size).toBe(100);
    expect(lru.get(0)).toBe(0);
    expect(lru.get(1)).toBeUndefined();
    expect(lru.get(99_999)).toBe(99_999);
  });
});

describe('the verified-token cache', () => {
  const SECRET = 'a-test-secret-of-enough-length';
  const cache = new BoundedLru<string, { actor: Actor; expiresAt: number }>(20);
  let baseUrl: string;
  let close: () => void;

  beforeAll(async () => {
    const app = express();
    app.get('/who', authenticate({ secret: SECRET, maxLifetimeSeconds: 3_600 }, cache), (_req, res) => void res.json({ ok: true }));
    app.use(problemHandler(pino({ level: 'silent' })));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => close());

  it('holds at most its cap of tokens however many distinct ones verify, keeping the one in use', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (sub: string) =>
      new SignJWT({ sub, role: 'guest', iat: now, exp: now + 600 })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode(SECRET));
    const regular = await sign('regular');
    for (let i = 0; i < 200; i++) {
      for (const token of [await sign(`user-${i}`), regular]) {
        const response = await fetch(`${baseUrl}/who`, { headers: { authorization: `Bearer ${token}` } });
        expect(response.status).toBe(200);
      }
      expect(cache.size).toBeLessThanOrEqual(20);
    }
    expect(cache.size).toBe(20);
    expect(cache.get(regular)?.actor.id).toBe('regular');
  });
});

describe('the rate limiter’s in-memory fallback', () => {
  it('counts at most its cap of keys, and still counts each key within its window', () => {
    let now = 0;
    const counter = new MemoryWindowCounter(60_000, 1_000, () => now);
    expect(counter.consume('a').consumedPoints).toBe(1);
    expect(counter.consume('a').consumedPoints).toBe(2);
    for (let i = 0; i < 50_000; i++) {
      counter.consume(`flood-${i}`);
      counter.consume('a');
    }
    expect(counter.size).toBe(1_000);
    expect(counter.consume('a')).toEqual({ consumedPoints: 50_003, msBeforeNext: 60_000 });
    now = 60_000;
    expect(counter.consume('a').consumedPoints).toBe(1);
  });

  it('is what RateLimits falls back to when Redis cannot answer, bounded per budget', async () => {
    const redis = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    const limits = new RateLimits(redis, {
      keyPrefix: 'test:',
      budgets: { windowSeconds: 60, clientReads: 1_000_000, clientWrites: 1_000_000, userReads: 1_000_000, userWrites: 1_000_000 },
      guard: () => Promise.reject(new Error('redis is away')),
      registry: new Registry(),
    });
    const perClient = limits.perClient();
    for (let i = 0; i < 12_000; i++) {
      const headers: Record<string, string> = {};
      const req = { method: 'GET', ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, socket: {} } as unknown as express.Request;
      const res = { locals: {}, set: (name: string, value: string) => void (headers[name] = value) } as unknown as express.Response;
      await perClient(req, res, () => undefined);
    }
    const local = (limits as unknown as { local: Map<string, MemoryWindowCounter> }).local.get('client-read')!;
    expect(local.size).toBe(10_000);
    redis.disconnect();
  });
});

describe('request metrics', () => {
  it('label by route template: any number of distinct paths stays a handful of series', async () => {
    const registry = new Registry();
    const histogram = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'h',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    });
    const app = express();
    app.use(requestMetrics(histogram));
    app.get('/api/rooms/:id', (_req, res) => void res.json({}));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (let i = 0; i < 100; i++) {
        await fetch(`${base}/api/rooms/${i}`);
        await fetch(`${base}/no/such/${i}?x=${i}`);
        await fetch(`${base}/api/rooms/${i}/x${i}`, { method: 'POST' });
      }
      const values = (await registry.getSingleMetric('http_request_duration_seconds')!.get()).values.filter(
        (v) => (v as { metricName?: string }).metricName === 'http_request_duration_seconds_count',
      );
      expect(values.map((v) => `${v.labels.method} ${v.labels.route} ${v.labels.status}`).sort()).toEqual([
        'GET /api/rooms/:id 200',
        'GET unmatched 404',
        'POST unmatched 404',
      ]);
    } finally {
      server.close();
    }
  });
});
