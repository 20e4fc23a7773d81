import { describe, expect, it } from 'vitest';
import { DEVELOPMENT_DEFAULTS, loadConfig } from './config.js';

describe('the gateway configuration', () => {
  it('serves the API on PORT and probes and metrics on OPS_PORT, draining 5 s by default', () => {
    expect(loadConfig({})).toMatchObject({ PORT: 8080, OPS_PORT: 9090, SHUTDOWN_DRAIN_DELAY_MS: 5_000, SHUTDOWN_TIMEOUT_MS: 20_000 });
  });

  it('refuses the ops endpoints on the public port, and a drain that leaves no time to close', () => {
    expect(() => loadConfig({ PORT: '8080', OPS_PORT: '8080' })).toThrow(/OPS_PORT/);
    expect(() => loadConfig({ SHUTDOWN_DRAIN_DELAY_MS: '20000' })).toThrow(/SHUTDOWN_DRAIN_DELAY_MS/);
    expect(loadConfig({ SHUTDOWN_DRAIN_DELAY_MS: '0' }).SHUTDOWN_DRAIN_DELAY_MS).toBe(0);
  });

  it('refuses in production every development default — the public JWT secret and the local servers — naming each', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      new RegExp(
        Object.keys(DEVELOPMENT_DEFAULTS)
          .map((key) => `${key}: is missing or the development default`)
          .join('[^]*'),
      ),
    );
    const real = {
      AMQP_URL: 'amqps://gw:pw@mq.internal/cupo',
      REDIS_URL: 'rediss://:pw@redis.internal:6380',
      JWT_SECRET: 'a-production-secret-of-sufficient-length',
    };
    expect(loadConfig({ NODE_ENV: 'production', ...real }).NODE_ENV).toBe('production');
  });
});
