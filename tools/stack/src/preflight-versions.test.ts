import { describe, expect, it } from 'vitest';
import { compareVersions } from './preflight-versions.js';

describe('compareVersions', () => {
  it('compares part by part as numbers, not as text', () => {
    expect(compareVersions('3.9.29', '3.10')).toBeLessThan(0);
    expect(compareVersions('3.10.8', '3.10')).toBeGreaterThan(0);
    expect(compareVersions('15.20', '13')).toBeGreaterThan(0);
    expect(compareVersions('9.6.24', '13')).toBeLessThan(0);
  });

  it('treats missing parts as 0 and ignores suffixes', () => {
    expect(compareVersions('5.0', '5')).toBe(0);
    expect(compareVersions('5.0.0-rc1', '5.0')).toBe(0);
    expect(compareVersions('4.0.14', '5.0')).toBeLessThan(0);
  });
});
