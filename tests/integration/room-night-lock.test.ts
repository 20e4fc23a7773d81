import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { defaultUrls } from '@cupo/stack';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisRoomNightLocks } from '../../services/booking/src/adapters/redis/room-night-lock.js';
import { LockTimeoutError, RoomUnavailableError } from '../../services/booking/src/domain/errors.js';

const redis = new Redis(defaultUrls().redisUrl);
const prefix = `cupo:it:${randomUUID()}:`;
const locks = new RedisRoomNightLocks(
  redis,
  { keyPrefix: prefix, ttlMs: 2_000, retryInitialDelayMs: 5, retryMaxDelayMs: 20 },
  new Registry(),
);
const patient = { waitUntil: Date.now() + 60_000, keepWaiting: async () => undefined };

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

describe('room-night locks', () => {
  it('are named lock:room:{roomId}:{date}, one per night', async () => {
    const held = await locks.acquire(7, ['2030-01-02', '2030-01-01'], patient);
    expect((await redis.keys(`${prefix}lock:room:7:*`)).sort()).toEqual([
      `${prefix}lock:room:7:2030-01-01`,
      `${prefix}lock:room:7:2030-01-02`,
    ]);
    await held.release();
    expect(await redis.keys(`${prefix}lock:room:7:*`)).toEqual([]);
  });

  it('make an overlapping range wait until the holder releases', async () => {
    const first = await locks.acquire(8, ['2030-01-01', '2030-01-02'], patient);
    let secondHeld = false;
    const second = locks.acquire(8, ['2030-01-02', '2030-01-03'], patient).then((held) => {
      secondHeld = true;
      return held;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(secondHeld).toBe(false);
    await first.release();
    await (await second).release();
    expect(secondHeld).toBe(true);
  });

  it('do not block other rooms or other nights', async () => {
    const held = await locks.acquire(9, ['2030-01-01'], patient);
    const other = await locks.acquire(9, ['2030-01-02'], { ...patient, waitUntil: Date.now() });
    const otherRoom = await locks.acquire(10, ['2030-01-01'], { ...patient, waitUntil: Date.now() });
    await Promise.all([held.release(), other.release(), otherRoom.release()]);
  });

  it('give up with LOCK_TIMEOUT when the wait runs out', async () => {
    const held = await locks.acquire(11, ['2030-01-01'], patient);
    await expect(
      locks.acquire(11, ['2030-01-01'], { waitUntil: Date.now() + 150, keepWaiting: async () => undefined }),
    ).rejects.toBeInstanceOf(LockTimeoutError);
    await held.release();
  });

  it('stop waiting as soon as the caller learns the answer', async () => {
    const held = await locks.acquire(12, ['2030-01-01'], patient);
    const started = Date.now();
    await expect(
      locks.acquire(12, ['2030-01-01'], {
        waitUntil: Date.now() + 10_000,
        keepWaiting: async () => {
          throw new RoomUnavailableError(12, ['2030-01-01']);
        },
      }),
    ).rejects.toBeInstanceOf(RoomUnavailableError);
    expect(Date.now() - started).toBeLessThan(5_000);
    await held.release();
  });

  it('free themselves after the TTL if the holder never releases', async () => {
    const shortLived = new RedisRoomNightLocks(
      redis,
      { keyPrefix: prefix, ttlMs: 100, retryInitialDelayMs: 5, retryMaxDelayMs: 20 },
      new Registry(),
    );
    await shortLived.acquire(13, ['2030-01-01'], patient); // never released: its holder "died"
    const next = await shortLived.acquire(13, ['2030-01-01'], { ...patient, waitUntil: Date.now() + 5_000 });
    await next.release();
  });
});
