import { describe, expect, it } from 'vitest';
import { DEVELOPMENT_DEFAULTS, loadConfig } from './config.js';

describe('booking configuration', () => {
  it('runs on the local servers in development', () => {
    expect(loadConfig({}).DATABASE_URL).toBe(DEVELOPMENT_DEFAULTS.DATABASE_URL);
  });

  it('refuses in production every server left to its development default, naming each', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      new RegExp(Object.keys(DEVELOPMENT_DEFAULTS).map((key) => `${key}: is missing or the development default`).join('[^]*')),
    );
  });

  it('starts in production with real servers', () => {
    const real = { DATABASE_URL: 'postgres://booking:pw@db.internal:5432/cupo_booking', AMQP_URL: 'amqps://booking:pw@mq.internal/cupo', REDIS_URL: 'rediss://:pw@redis.internal:6380' };
    expect(loadConfig({ NODE_ENV: 'production', ...real }).NODE_ENV).toBe('production');
  });

  it('refuses a pool of one connection, on which a reconciler pass would wait for itself forever', () => {
    expect(() => loadConfig({ PG_POOL_MAX: '1' })).toThrow(/PG_POOL_MAX: must be at least 2/);
    expect(loadConfig({ PG_POOL_MAX: '2' }).PG_POOL_MAX).toBe(2);
  });

  it('refuses a reconciler that would judge bookings the recovery loop is still settling', () => {
    expect(() => loadConfig({ RECONCILE_GRACE_MS: '10000' })).toThrow(/RECONCILE_GRACE_MS: must exceed/);
  });
});
