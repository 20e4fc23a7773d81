import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '@cupo/errors';
import { countingMailer, InMemoryStore, scriptedDirectory, students } from '../../testing/onboarding-fakes.js';
import { silentLogger } from '../../testing/fakes.js';
import { ProviderRejectedError, ProviderUnavailableError, type Lms, type OnboardingStore } from './ports.js';
import { recordUnrecordedSends, runWorkflow, type BatchRun, type WorkflowDeps } from './run-workflow.js';

const config = { batch_size: 20, rate_limit_directory_per_min: 60_000, rate_limit_lms_per_min: 60_000, rate_limit_email_per_min: 60_000 };

function setUp(overrides: Partial<WorkflowDeps> = {}, maxAttempts = 3) {
  const store = new InMemoryStore();
  const [student] = students(1);
  store.batch('b', [student!]);
  const outcomes: string[] = [];
  const deps: WorkflowDeps = {
    store: store as unknown as OnboardingStore,
    directory: scriptedDirectory(),
    lms: { ensureEnrolled: async (_s, call) => call('enrol', async () => ({ userId: 7, created: true })) },
    mailer: countingMailer(),
    limiter: { reserve: async () => 0 },
    metrics: {
      providerCall: () => undefined,
      limiterWait: () => undefined,
      workflow: (o) => void outcomes.push(o),
      batch: () => undefined,
    },
    logger: silentLogger,
    leaseMs: 5_000,
    retry: { maxAttempts, initialMs: 1, maxMs: 5 },
    unrecorded: new Map(),
    ...overrides,
  };
  const stop = new AbortController();
  const run: BatchRun = { owner: 'test:1/run', signal: stop.signal, config };
  const unit = { taskId: 'wf-S0', status: 'pending' as const, student: student! };
  return { store, deps, run, stop, unit, outcomes, workflow: () => store.workflow('S0') };
}

const failingLms = (error: () => Error): Lms & { calls: number } => {
  const lms = {
    calls: 0,
    async ensureEnrolled() {
      lms.calls += 1;
      throw error();
    },
  };
  return lms;
};

describe('runWorkflow', () => {
  it('runs the three steps in order and completes, recording each', async () => {
    const mailer = countingMailer();
    const { deps, run, unit, outcomes, workflow } = setUp({ mailer });
    expect(await runWorkflow(deps, run, unit)).toBe('ended');
    expect(workflow()).toMatchObject({
      status: 'completed',
      owner: null,
      attempts: 1,
      details: { user_principal_name: 's0@test', warnings: [] },
    });
    expect((workflow().details.steps as { name: string; status: string }[]).map((s) => [s.name, s.status])).toEqual([
      ['directory_account', 'completed'],
      ['lms_enrolment', 'completed'],
      ['welcome_email', 'completed'],
    ]);
    expect(mailer.sent).toEqual(['S0']);
    expect(outcomes).toEqual(['completed']);
  });

  it('stops at a refused directory account: no LMS, no e-mail, the workflow fails at once', async () => {
    const lms = failingLms(() => new Error('must not be called'));
    const mailer = countingMailer();
    const { deps, run, unit, outcomes, workflow } = setUp({
      directory: scriptedDirectory({ S0: [new ProviderRejectedError('403 forbidden')] }),
      lms,
      mailer,
    });
    expect(await runWorkflow(deps, run, unit)).toBe('ended');
    expect(workflow()).toMatchObject({ status: 'failed', attempts: 1, details: { errors: ['directory: 403 forbidden'] } });
    expect(lms.calls).toBe(0);
    expect(mailer.sent).toEqual([]);
    expect(outcomes).toEqual(['failed']);
  });

  it('completes with a warning when the LMS refuses, and still sends the e-mail', async () => {
    const mailer = countingMailer();
    const { deps, run, unit, outcomes, workflow } = setUp({ lms: failingLms(() => new ProviderRejectedError('invalid course')), mailer });
    expect(await runWorkflow(deps, run, unit)).toBe('ended');
    expect(workflow()).toMatchObject({ status: 'completed', details: { warnings: ['lms: invalid course'] } });
    expect(mailer.sent).toEqual(['S0']);
    expect(outcomes).toEqual(['completed_with_warnings']);
  });

  it('retries an LMS that stays away, and takes it as a warning on the last attempt', async () => {
    const lms = failingLms(() => new ProviderUnavailableError('502'));
    const { deps, run, unit, workflow } = setUp({ lms }, 3);
    expect(await runWorkflow(deps, run, unit)).toBe('ended');
    expect(lms.calls).toBe(3);
    expect(workflow()).toMatchObject({ status: 'completed', attempts: 3, details: { warnings: ['lms: gave up after 3 attempts: 502'] } });
  });

  it('runs again from the start after a directory outage, finding what it made', async () => {
    const directory = scriptedDirectory({ S0: [new ProviderUnavailableError('503')] });
    const { deps, run, unit, workflow } = setUp({ directory });
    expect(await runWorkflow(deps, run, unit)).toBe('ended');
    expect(directory.calls).toEqual(['S0', 'S0']);
    expect(workflow()).toMatchObject({ status: 'completed', attempts: 2 });
  });

  it('costs no attempt while our own infrastructure is away, and hands itself back after too many waits', async () => {
    let redisDown = 100;
    const limiter = { reserve: async () => (redisDown-- > 0 ? Promise.reject(new DependencyUnavailableError('Redis')) : 0) };
    const { deps, run, unit, workflow } = setUp({ limiter }, 2);
    expect(await runWorkflow(deps, run, unit)).toBe('handed_back');
    expect(workflow()).toMatchObject({ status: 'pending', owner: null, attempts: 0 });
  });

  it('sends the welcome e-mail once: a second run finds it done', async () => {
    const mailer = countingMailer();
    const first = setUp({ mailer });
    await runWorkflow(first.deps, first.run, first.unit);
    first.workflow().status = 'pending'; // as an admin's retry would
    expect(await runWorkflow(first.deps, first.run, first.unit)).toBe('ended');
    expect(mailer.sent).toEqual(['S0']);
    expect(first.workflow().details.steps).toContainEqual(expect.objectContaining({ name: 'welcome_email', status: 'skipped' }));
  });

  it('records a sent e-mail before its other steps on the next attempt: a directory still away does not leave it unrecorded', async () => {
    // The send succeeded, PostgreSQL went away before the record, then the directory breaker
    // stayed open (our side, no attempt used) until the workflow handed itself back. The
    // batch's next run in this process (a new owner) must record that e-mail, not send it again
    // once the first run's claim on it has run out.
    const mailer = countingMailer();
    const directoryAway = () => new DependencyUnavailableError('directory provider (circuit open)');
    const directory = scriptedDirectory({ S0: [undefined as unknown as Error, ...Array.from({ length: 2 }, directoryAway)] });
    const { deps, run, unit, store, workflow } = setUp({ mailer, directory, leaseMs: 20 }, 2);
    store.failConfirms = 1;
    expect(await runWorkflow(deps, run, unit)).toBe('handed_back');
    expect(mailer.sent).toEqual(['S0']);
    // Recorded by the next attempt, first thing, though its directory step then failed.
    expect(store.effects.get('S0/welcome_email')).toMatchObject({ status: 'done', externalId: '<welcome.S0@test>' });
    await new Promise((resolve) => setTimeout(resolve, 40)); // the first run's claim on the e-mail runs out
    const next: BatchRun = { ...run, owner: 'test:1/next-run' };
    expect(await runWorkflow(deps, next, unit)).toBe('ended');
    expect(mailer.sent).toEqual(['S0']);
    expect(store.effects.get('S0/welcome_email')).toMatchObject({ status: 'done', externalId: '<welcome.S0@test>' });
    expect(workflow()).toMatchObject({ status: 'completed' });
  });

  it('records, never re-sends, an e-mail whose run handed back while the database was still away', async () => {
    // Every record fails until the workflow hands itself back: the e-mail is sent and not
    // recorded when the run that sent it ends. The batch's next run in this process records it.
    const mailer = countingMailer();
    const { deps, run, unit, store, workflow } = setUp({ mailer, leaseMs: 20 }, 2);
    store.failConfirms = 3;
    expect(await runWorkflow(deps, run, unit)).toBe('handed_back');
    expect(mailer.sent).toEqual(['S0']);
    expect(store.effects.get('S0/welcome_email')).toMatchObject({ status: 'claimed' });
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(await runWorkflow(deps, { ...run, owner: 'test:1/next-run' }, unit)).toBe('ended');
    expect(mailer.sent).toEqual(['S0']);
    expect(store.effects.get('S0/welcome_email')).toMatchObject({ status: 'done', externalId: '<welcome.S0@test>' });
    expect(workflow().details.steps).toContainEqual(
      expect.objectContaining({
        name: 'welcome_email',
        status: 'completed',
        note: expect.stringMatching(/recorded once the database was back/),
      }),
    );
    expect(deps.unrecorded.size).toBe(0);
  });

  it('records the sends the database missed on its own, pass after pass until it is back', async () => {
    const { deps, store } = setUp();
    deps.unrecorded.set('S0', '<welcome.S0@test>');
    store.failConfirms = 1;
    expect(await recordUnrecordedSends(deps)).toBe(0);
    expect(deps.unrecorded.size).toBe(1);
    expect(await recordUnrecordedSends(deps)).toBe(1);
    expect(deps.unrecorded.size).toBe(0);
    expect(store.effects.get('S0/welcome_email')).toMatchObject({ status: 'done', externalId: '<welcome.S0@test>' });
  });

  it('leaves a workflow another live run holds to it', async () => {
    const { deps, run, unit, store } = setUp();
    await store.claim('wf-S0', 'other:2/run', 5_000);
    expect(await runWorkflow(deps, run, unit)).toBe('handed_back');
    expect(store.workflow('S0')).toMatchObject({ status: 'running', owner: 'other:2/run' });
  });

  it('does nothing once its run is handing work back', async () => {
    const directory = scriptedDirectory();
    const { deps, run, unit, stop, workflow } = setUp({ directory });
    stop.abort();
    expect(await runWorkflow(deps, run, unit)).toBe('handed_back');
    expect(directory.calls).toEqual([]);
    expect(workflow().status).toBe('pending');
  });
});
