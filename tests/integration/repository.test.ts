import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');

describe('the repository', () => {
  it('keeps the per-service Dockerfiles identical but for the service they build', () => {
    const normalise = (service: string) =>
      read(`services/${service}/Dockerfile`)
        .replace(`ARG SERVICE=${service}\n`, 'ARG SERVICE=…\n')
        .replaceAll(`ARG SERVICE=${service}\n`, 'ARG SERVICE=…\n')
        .replace(new RegExp(`^# The ${service} image\\. (.*)services/${service}/`, 'm'), '# The … image. $1services/…/');
    expect(normalise('booking')).toBe(normalise('gateway'));
    expect(normalise('inventory')).toBe(normalise('gateway'));
    expect(normalise('enrollment')).toBe(normalise('gateway'));
  });
});
