import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('the gateway configuration', () => {
  it('serves the API on PORT and probes and metrics on OPS_PORT, draining 5 s by default', () => {
    expect(loadConfig({})).toMatchObject({ PORT: 8080, OPS_PORT: 9090, SHUTDOWN_DRAIN_DELAY_MS: 5_000, SHUTDOWN_TIMEOUT_MS: 20_000 });
  });

  it('refuses the ops endpoints on the public port, and a drain that leaves no time to close', () => {
    expect(() => loadConfig({ PORT: '8080', OPS_PORT: '8080' })).toThrow(/OPS_PORT/);
    expect(() => loadConfig({ SHUTDOWN_DRAIN_DELAY_MS: '20000' })).toThrow(/SHUTDOWN_DRAIN_DELAY_MS/);
    expect(loadConfig({ SHUTDOWN_DRAIN_DELAY_MS: '0' }).SHUTDOWN_DRAIN_DELAY_MS).toBe(0);
  });
});
