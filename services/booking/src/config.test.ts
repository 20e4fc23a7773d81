import { describeBackendConfig } from '@cupo/service-kit/testing';
import { expect, it } from 'vitest';
import { DEVELOPMENT_DEFAULTS, loadConfig } from './config.js';

describeBackendConfig('booking', loadConfig, DEVELOPMENT_DEFAULTS, () => {
  it('refuses a pool of one connection, on which a reconciler pass would wait for itself forever', () => {
    expect(() => loadConfig({ PG_POOL_MAX: '1' })).toThrow(/PG_POOL_MAX: must be at least 2/);
    expect(loadConfig({ PG_POOL_MAX: '2' }).PG_POOL_MAX).toBe(2);
  });

  it('refuses a reconciler that would judge bookings the recovery loop is still settling', () => {
    expect(() => loadConfig({ RECONCILE_GRACE_MS: '10000' })).toThrow(/RECONCILE_GRACE_MS: must exceed/);
  });
});
