import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CircuitBreakers, ProviderBreakerEnv } from '@cupo/circuit-breakers';
import { isTransient } from '@cupo/errors';
import type { IncomingStudent } from '@cupo/contracts';
import type { Logger } from '@cupo/service-kit';
import type { OnboardingStore } from '../../app/onboarding/ports.js';
import { runIngest } from '../../app/onboarding/run-ingest.js';
import { ProviderAwayError } from './http.js';
import { addProviderBreakersTo, guardedSource, ProviderPausedError } from './provider-breakers.js';

/** Just what an ingest touches, in memory: its claim, its outcome, and what it planned. */
function fakeStore() {
  const state = { attempts: 0, status: 'pending' as string, finished: undefined as unknown, planned: 0, releases: [] as boolean[] };
  const store: Partial<OnboardingStore> = {
    claim: async () => {
      state.attempts += 1;
      state.status = 'running';
      return { claimed: true, attempts: state.attempts };
    },
    release: async (_id, _owner, options) => {
      if (options.refund) state.attempts -= 1;
      state.status = 'pending';
      state.releases.push(options.refund);
    },
    finish: async (_id, _owner, status, details) => {
      state.status = status;
      state.finished = details;
      return true;
    },
    ingestInput: async () => null,
    getConfig: async () => ({ batch_size: 20, rate_limit_directory_per_min: 10, rate_limit_lms_per_min: 30, rate_limit_email_per_min: 60 }),
    planIngest: async (_id, students: IncomingStudent[]) => {
      state.planned = students.length;
      state.status = 'completed';
      return { received: students.length, fresh: students.length, batches: ['b1'] };
    },
  };
  return { store: store as OnboardingStore, state };
}

const logger = { info: () => undefined, warn: () => undefined, child: () => logger } as unknown as Logger;

describe('an ingest whose student-information source is away', () => {
  it('waits while the sis breaker is open (transient, no attempt spent, not failed) and plans once the source is back', async () => {
    const breakers = addProviderBreakersTo(
      new CircuitBreakers(new Registry()),
      ProviderBreakerEnv.parse({
        PROVIDER_CIRCUIT_FAILURE_THRESHOLD: '2',
        PROVIDER_CIRCUIT_RECOVERY_TIMEOUT: '0.05',
        PROVIDER_CIRCUIT_SUCCESS_THRESHOLD: '1',
      }),
    );
    let away = true;
    const source = guardedSource(
      {
        fetchStudents: async () => {
          if (away) throw new ProviderAwayError('sis answered 503');
          return [{ id: 'S1', name: 'Student One', email: 's1@mail.cupo.test' }];
        },
      },
      breakers,
    );
    const { store, state } = fakeStore();
    const deps = { store, source, logger, leaseMs: 1_000, replicaId: 'test' };

    // Two failures open the breaker; from then on the ingest is paused, never failed.
    await expect(runIngest(deps, 'i1')).rejects.toBeInstanceOf(ProviderAwayError);
    const paused = await runIngest(deps, 'i1').catch((e: unknown) => e);
    expect(paused).toBeInstanceOf(ProviderPausedError);
    expect(isTransient(paused)).toBe(true);
    await expect(runIngest(deps, 'i1')).rejects.toBeInstanceOf(ProviderPausedError);
    expect(state.status).toBe('pending');
    expect(state.finished).toBeUndefined();
    // The pauses gave their attempts back; the first failure (the source answering 503) did not.
    expect(state.releases).toEqual([false, true, true]);
    expect(state.attempts).toBe(1);

    away = false;
    await new Promise((resolve) => setTimeout(resolve, 80));
    await runIngest(deps, 'i1');
    expect(state).toMatchObject({ status: 'completed', planned: 1 });
  });
});
