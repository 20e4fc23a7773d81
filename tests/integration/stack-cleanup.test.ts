import { Redis } from 'ioredis';
import { defaultUrls, deleteKeys } from '@cupo/stack';
import { afterAll, describe, expect, it } from 'vitest';

// A namespaced stack's destroy() drops its databases and vhost, and deletes its Redis keys:
// a test or bench run leaves nothing behind on the machine's shared servers.
const { redisUrl } = defaultUrls();
const run = `cupo:cleanup_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
const redis = new Redis(redisUrl);

afterAll(async () => {
  await redis.del(`${run}-other:keep`);
  redis.disconnect();
});

describe('stack cleanup', () => {
  it("deletes every key under the run's prefix and nothing else", async () => {
    const mine = Array.from({ length: 1200 }, (_, i) => `${run}:idem:${i}`);
    const pipeline = redis.pipeline();
    for (const key of mine) pipeline.set(key, '1', 'EX', 600);
    pipeline.set(`${run}-other:keep`, '1', 'EX', 600);
    await pipeline.exec();

    await deleteKeys(redisUrl, `${run}:`);

    expect(await redis.exists(...mine.slice(0, 100))).toBe(0);
    expect((await redis.keys(`${run}:*`)).length).toBe(0);
    expect(await redis.exists(`${run}-other:keep`)).toBe(1);
  });
});
