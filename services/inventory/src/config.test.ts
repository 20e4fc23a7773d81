import { describe, expect, it } from 'vitest';
import { DEVELOPMENT_DEFAULTS, loadConfig } from './config.js';

describe('inventory configuration', () => {
  it('runs on the local servers in development', () => {
    expect(loadConfig({}).DATABASE_URL).toBe(DEVELOPMENT_DEFAULTS.DATABASE_URL);
  });

  it('refuses in production every server left to its development default, naming each', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      new RegExp(Object.keys(DEVELOPMENT_DEFAULTS).map((key) => `${key}: is missing or the development default`).join('[^]*')),
    );
  });

  it('starts in production with real servers', () => {
    const real = { DATABASE_URL: 'postgres://inventory:pw@db.internal:5432/cupo_inventory', AMQP_URL: 'amqps://inventory:pw@mq.internal/cupo', REDIS_URL: 'rediss://:pw@redis.internal:6380' };
    expect(loadConfig({ NODE_ENV: 'production', ...real }).NODE_ENV).toBe('production');
  });
});
