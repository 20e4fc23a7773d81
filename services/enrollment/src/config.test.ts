import { describe, expect, it } from 'vitest';
import { DEVELOPMENT_DEFAULTS, loadConfig } from './config.js';

describe('enrollment configuration', () => {
  it('runs on the local servers in development', () => {
    expect(loadConfig({}).DATABASE_URL).toBe(DEVELOPMENT_DEFAULTS.DATABASE_URL);
  });

  it('refuses in production every server left to its development default, naming each', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      new RegExp(Object.keys(DEVELOPMENT_DEFAULTS).map((key) => `${key}: is missing or the development default`).join('[^]*')),
    );
  });

  it('starts in production with real servers', () => {
    const real = { DATABASE_URL: 'postgres://enrollment:pw@db.internal:5432/cupo_enrollment', AMQP_URL: 'amqps://enrollment:pw@mq.internal/cupo', REDIS_URL: 'rediss://:pw@redis.internal:6380' };
    expect(loadConfig({ NODE_ENV: 'production', ...real }).NODE_ENV).toBe('production');
  });
});

describe('saga retention settings', () => {
  it('default to 30 days, accept 0 (off), refuse a negative or non-numeric retention', () => {
    expect(loadConfig({}).SAGA_RETENTION_SECONDS).toBe(30 * 86_400);
    expect(loadConfig({ SAGA_RETENTION_SECONDS: '0' }).SAGA_RETENTION_SECONDS).toBe(0);
    expect(() => loadConfig({ SAGA_RETENTION_SECONDS: '-1' })).toThrow(/SAGA_RETENTION_SECONDS/);
    expect(() => loadConfig({ SAGA_RETENTION_SECONDS: 'a week' })).toThrow(/SAGA_RETENTION_SECONDS/);
    expect(() => loadConfig({ SAGA_PURGE_BATCH: '0' })).toThrow(/SAGA_PURGE_BATCH/);
  });
});
