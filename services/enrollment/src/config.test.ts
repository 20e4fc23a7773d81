import { describeBackendConfig } from '@cupo/service-kit/testing';
import { describe, expect, it } from 'vitest';
import { DEVELOPMENT_DEFAULTS, loadConfig } from './config.js';

describeBackendConfig('enrollment', loadConfig, DEVELOPMENT_DEFAULTS);

describe('saga retention settings', () => {
  it('default to 30 days, accept 0 (off), refuse a negative or non-numeric retention', () => {
    expect(loadConfig({}).SAGA_RETENTION_SECONDS).toBe(30 * 86_400);
    expect(loadConfig({ SAGA_RETENTION_SECONDS: '0' }).SAGA_RETENTION_SECONDS).toBe(0);
    expect(() => loadConfig({ SAGA_RETENTION_SECONDS: '-1' })).toThrow(/SAGA_RETENTION_SECONDS/);
    expect(() => loadConfig({ SAGA_RETENTION_SECONDS: 'a week' })).toThrow(/SAGA_RETENTION_SECONDS/);
    expect(() => loadConfig({ SAGA_PURGE_BATCH: '0' })).toThrow(/SAGA_PURGE_BATCH/);
  });
});
