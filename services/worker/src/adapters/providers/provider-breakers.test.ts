import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CircuitBreakers, ProviderBreakerEnv } from '@cupo/circuit-breakers';
import { isTransient } from '@cupo/errors';
import { ProviderRejectedError, ProviderThrottledError, ProviderUnavailableError, type ProviderCall } from '../../app/onboarding/ports.js';
import { ProviderAwayError } from './http.js';
import { addProviderBreakersTo, guardedCall, guardedSource, ProviderPausedError } from './provider-breakers.js';

function breakers(openMs = '60') {
  return addProviderBreakersTo(
    new CircuitBreakers(new Registry()),
    ProviderBreakerEnv.parse({
      PROVIDER_CIRCUIT_FAILURE_THRESHOLD: '3',
      PROVIDER_CIRCUIT_RECOVERY_TIMEOUT: openMs,
      PROVIDER_CIRCUIT_SUCCESS_THRESHOLD: '1',
    }),
  );
}

/** The rate-limited call as the workflow hands it in: here it only counts the slots taken. */
function countingCall() {
  const slots = { taken: 0 };
  const call: ProviderCall = async (_operation, request) => {
    slots.taken += 1;
    return request();
  };
  return { call, slots };
}

describe('provider breakers', () => {
  it('add one breaker per provider', () => {
    expect(breakers().names()).toEqual(['directory', 'lms', 'email', 'sis']);
  });

  it('turn the failure that opens the breaker, and every call while it is open, into a transient pause that sends nothing', async () => {
    const b = breakers();
    const { call, slots } = countingCall();
    const directory = guardedCall(b, 'directory', call);
    let sent = 0;
    const away = async () => {
      sent += 1;
      throw new ProviderAwayError('graph answered 503');
    };
    await expect(directory('get user', away)).rejects.toBeInstanceOf(ProviderUnavailableError);
    await expect(directory('get user', away)).rejects.toBeInstanceOf(ProviderUnavailableError);
    const opening = await directory('get user', away).catch((e: unknown) => e);
    expect(opening).toBeInstanceOf(ProviderPausedError);
    expect(isTransient(opening)).toBe(true);
    expect(b.stateOf('directory')).toBe('open');

    const paused = await directory('get user', async () => 'never sent').catch((e: unknown) => e);
    expect(paused).toBeInstanceOf(ProviderPausedError);
    expect((paused as ProviderPausedError).retryAfterMs).toBeGreaterThan(55_000);
    expect(sent).toBe(3);
    expect(slots.taken).toBe(3);
    // The other providers are not affected.
    await expect(guardedCall(b, 'lms', call)('get user', async () => 'ok')).resolves.toBe('ok');
  });

  it('do not count a 429, a refusal or a plain 500: the provider is answering', async () => {
    const b = breakers();
    const email = guardedCall(b, 'email', countingCall().call);
    for (let i = 0; i < 4; i++) {
      await expect(
        email('send', async () => {
          throw new ProviderUnavailableError('answered 500');
        }),
      ).rejects.toBeInstanceOf(ProviderUnavailableError);
      await expect(
        email('send', async () => {
          throw new ProviderThrottledError(1);
        }),
      ).rejects.toBeInstanceOf(ProviderThrottledError);
      await expect(
        email('send', async () => {
          throw new ProviderRejectedError('550');
        }),
      ).rejects.toBeInstanceOf(ProviderRejectedError);
    }
    expect(b.stateOf('email')).toBe('closed');
  });

  it('let calls through again once the open period is over, and close on success', async () => {
    const b = breakers('0.05');
    const lms = guardedCall(b, 'lms', countingCall().call);
    for (let i = 0; i < 3; i++)
      await lms('enrol', async () => {
        throw new ProviderAwayError('down');
      }).catch(() => undefined);
    await expect(lms('enrol', async () => 'ok')).rejects.toBeInstanceOf(ProviderPausedError);
    await new Promise((r) => setTimeout(r, 80));
    await expect(lms('enrol', async () => 'ok')).resolves.toBe('ok');
    expect(b.stateOf('lms')).toBe('closed');
  });

  it('pause an ingest whose student-information source is away', async () => {
    const b = breakers();
    let asked = 0;
    const source = guardedSource(
      {
        fetchStudents: async () => {
          asked += 1;
          throw new ProviderAwayError('sis answered 502');
        },
      },
      b,
    );
    for (let i = 0; i < 2; i++) await expect(source.fetchStudents()).rejects.toBeInstanceOf(ProviderUnavailableError);
    await expect(source.fetchStudents()).rejects.toBeInstanceOf(ProviderPausedError);
    await expect(source.fetchStudents()).rejects.toBeInstanceOf(ProviderPausedError);
    expect(asked).toBe(3);
  });
});
