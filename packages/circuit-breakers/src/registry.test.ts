import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '@cupo/errors';
import { CircuitBreakers } from './registry.js';

class Down extends Error {}
const fail = async () => {
  throw new Down('down');
};
const ok = async () => 'ok';

function breakers(openMs = 40) {
  const b = new CircuitBreakers(new Registry());
  b.add('postgres', {
    dependency: 'PostgreSQL',
    failureThreshold: 3,
    openMs,
    successThreshold: 2,
    isFailure: (e) => e instanceof Down,
  });
  return b;
}

describe('circuit breakers', () => {
  it('open after the failure threshold and then fail fast as DEPENDENCY_UNAVAILABLE', async () => {
    const b = breakers();
    for (let i = 0; i < 3; i++) await expect(b.run('postgres', fail)).rejects.toBeInstanceOf(Down);
    expect(b.stateOf('postgres')).toBe('open');
    let called = false;
    await expect(b.run('postgres', async () => void (called = true))).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(called).toBe(false);
  });

  it('do not count errors that are not dependency failures', async () => {
    const b = breakers();
    for (let i = 0; i < 5; i++)
      await expect(
        b.run('postgres', async () => {
          throw new Error('constraint');
        }),
      ).rejects.toThrow();
    expect(b.stateOf('postgres')).toBe('closed');
  });

  it('need the success threshold after the open period to close, and reopen on a failure before it', async () => {
    const b = breakers();
    for (let i = 0; i < 3; i++) await expect(b.run('postgres', fail)).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 60));
    await b.run('postgres', ok);
    expect(b.stateOf('postgres')).toBe('half_open');
    await expect(b.run('postgres', fail)).rejects.toBeInstanceOf(Down);
    expect(b.stateOf('postgres')).toBe('open');
    await new Promise((r) => setTimeout(r, 60));
    await b.run('postgres', ok);
    await b.run('postgres', ok);
    expect(b.stateOf('postgres')).toBe('closed');
    expect(b.snapshot().postgres).toMatchObject({ state: 'closed', failure_count: 0 });
  });

  it('close at once when reset by hand', async () => {
    const b = breakers(60_000);
    for (let i = 0; i < 3; i++) await expect(b.run('postgres', fail)).rejects.toThrow();
    expect(b.stateOf('postgres')).toBe('open');
    b.reset('postgres');
    expect(b.stateOf('postgres')).toBe('closed');
    await expect(b.run('postgres', ok)).resolves.toBe('ok');
  });
});

describe('refusingFor', () => {
  it('says how long an open breaker still refuses, and 0 once its trial call is due or it is closed', async () => {
    const b = breakers(80);
    expect(b.refusingFor('postgres')).toBe(0);
    for (let i = 0; i < 3; i++) await expect(b.run('postgres', fail)).rejects.toThrow();
    const left = b.refusingFor('postgres');
    expect(left).toBeGreaterThan(40);
    expect(left).toBeLessThanOrEqual(80);
    await new Promise((r) => setTimeout(r, 100));
    expect(b.refusingFor('postgres')).toBe(0);
    // Its trial call is due: half-open, even before a call has come to try.
    expect(b.stateOf('postgres')).toBe('half_open');
    await b.run('postgres', ok);
    expect(b.refusingFor('postgres')).toBe(0);
  });

  it('refuses two breakers of one name', () => {
    const b = breakers();
    expect(() =>
      b.add('postgres', { dependency: 'x', failureThreshold: 1, openMs: 1, successThreshold: 1, isFailure: () => true }),
    ).toThrow(/two/);
  });
});
