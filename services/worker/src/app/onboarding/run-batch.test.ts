import { DependencyUnavailableError } from '@cupo/errors';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { TaskHandedBackError, TaskHeldError } from '../../domain/errors.js';
import { countingMailer, InMemoryStore, scriptedDirectory, students } from '../../testing/onboarding-fakes.js';
import { runBatch, type BatchDeps } from './run-batch.js';
import { ProviderRejectedError, ProviderUnavailableError, type OnboardingStore } from './ports.js';

function deps(store: InMemoryStore, overrides: Partial<BatchDeps> = {}): BatchDeps {
  return {
    store: store as unknown as OnboardingStore,
    directory: scriptedDirectory(),
    lms: { ensureEnrolled: async (_s, call) => call('enrol', async () => ({ userId: 1, created: false })) },
    mailer: countingMailer(),
    limiter: { reserve: async () => 0 },
    metrics: { providerCall: () => undefined, limiterWait: () => undefined, workflow: () => undefined, batch: () => undefined },
    logger: pino({ level: 'silent' }),
    leaseMs: 5_000,
    heartbeatMs: 1_000,
    concurrency: 2,
    retry: { maxAttempts: 3, initialMs: 1, maxMs: 5 },
    unrecorded: new Map(),
    replicaId: 'test:1',
    shutdown: new AbortController().signal,
    ...overrides,
  };
}

describe('runBatch', () => {
  it('runs a workflow again when its provider was away, at the cost of an attempt', async () => {
    const store = new InMemoryStore();
    store.batch('b', students(2));
    const directory = scriptedDirectory({ S0: [new ProviderUnavailableError('503'), new ProviderUnavailableError('503')] });
    await runBatch(deps(store, { directory }), 'b');
    expect(store.workflow('S0')).toMatchObject({ status: 'completed', attempts: 3, owner: null });
    expect(store.workflow('S1')).toMatchObject({ status: 'completed', attempts: 1 });
    expect(store.tasks.get('b')).toMatchObject({ status: 'completed', details: { completed: 2, failed: 0 } });
  });

  it('takes a provider failure as final only on the last attempt, and a refusal at once', async () => {
    const store = new InMemoryStore();
    store.batch('b', students(2));
    const away = () => new ProviderUnavailableError('503');
    const directory = scriptedDirectory({ S0: [away(), away(), away(), away()], S1: [new ProviderRejectedError('403 forbidden')] });
    const mailer = countingMailer();
    await runBatch(deps(store, { directory, mailer }), 'b');
    expect(store.workflow('S0')).toMatchObject({
      status: 'failed',
      attempts: 3,
      details: { errors: ['directory: gave up after 3 attempts: 503'] },
    });
    expect(store.workflow('S1')).toMatchObject({ status: 'failed', attempts: 1, details: { errors: ['directory: 403 forbidden'] } });
    expect(mailer.sent).toEqual([]);
    expect(store.tasks.get('b')).toMatchObject({ status: 'completed', details: { completed: 0, failed: 2 } });
  });

  it('costs a workflow no attempt while our own Redis or PostgreSQL is away', async () => {
    const store = new InMemoryStore();
    store.batch('b', students(1));
    // Counted, these would use up both attempts and fail the workflow.
    let redisDown = 2;
    const limiter = { reserve: async () => (redisDown-- > 0 ? Promise.reject(new DependencyUnavailableError('Redis')) : 0) };
    await runBatch(deps(store, { limiter, retry: { maxAttempts: 2, initialMs: 1, maxMs: 5 } }), 'b');
    expect(store.workflow('S0')).toMatchObject({ status: 'completed', attempts: 1 });
  });

  it('records an e-mail it sent but could not record, instead of sending it again', async () => {
    const store = new InMemoryStore();
    store.batch('b', students(1));
    store.failConfirms = 2;
    const mailer = countingMailer();
    await runBatch(deps(store, { mailer }), 'b');
    expect(mailer.sent).toEqual(['S0']);
    expect(store.effects.get('S0/welcome_email')).toMatchObject({ status: 'done', externalId: '<welcome.S0@test>' });
    expect(store.workflow('S0').status).toBe('completed');
  });

  it('records, never re-sends, an e-mail sent by a run that handed the batch back before the database came back', async () => {
    // PostgreSQL away right after the send, long enough for the workflow to hand itself back
    // (and the batch with it). The batch's next run in this replica — a new owner, once the
    // first run's claim on the e-mail has run out — records that e-mail instead of sending it again.
    const store = new InMemoryStore();
    store.batch('b', students(1));
    store.failConfirms = 3;
    const mailer = countingMailer();
    const replica = deps(store, { mailer, leaseMs: 20, retry: { maxAttempts: 2, initialMs: 1, maxMs: 5 } });
    await expect(runBatch(replica, 'b')).rejects.toBeInstanceOf(TaskHandedBackError);
    expect(mailer.sent).toEqual(['S0']);
    await new Promise((resolve) => setTimeout(resolve, 40));
    await runBatch(replica, 'b');
    expect(mailer.sent).toEqual(['S0']);
    expect(store.effects.get('S0/welcome_email')).toMatchObject({ status: 'done', externalId: '<welcome.S0@test>' });
    expect(store.tasks.get('b')).toMatchObject({ status: 'completed', details: { completed: 1, failed: 0 } });
  });

  it('does not send an e-mail a previous run already confirmed', async () => {
    const store = new InMemoryStore();
    store.batch('b', students(1));
    await store.confirmEffect('S0', 'welcome_email', '<earlier>');
    const mailer = countingMailer();
    await runBatch(deps(store, { mailer }), 'b');
    expect(mailer.sent).toEqual([]);
    expect(store.workflow('S0').details.steps).toContainEqual(expect.objectContaining({ name: 'welcome_email', status: 'skipped' }));
  });

  it('leaves a batch that another live run holds to it (TaskHeldError), and runs nothing', async () => {
    const store = new InMemoryStore();
    store.batch('b', students(2));
    await store.claim('b', 'other:2/run', 5_000);
    const directory = scriptedDirectory();
    await expect(runBatch(deps(store, { directory }), 'b')).rejects.toBeInstanceOf(TaskHeldError);
    expect(directory.calls).toEqual([]);
    expect(store.tasks.get('b')).toMatchObject({ status: 'running', owner: 'other:2/run' });
  });

  it('takes over a batch whose owner died once its lease has run out', async () => {
    const store = new InMemoryStore();
    store.batch('b', students(1));
    await store.claim('b', 'dead:9/run', 5_000);
    store.tasks.get('b')!.leaseUntil = Date.now() - 1;
    await runBatch(deps(store), 'b');
    expect(store.tasks.get('b')!.status).toBe('completed');
  });

  it('hands a batch back on shutdown: the send in flight finishes and is recorded, the rest is released for the next run', async () => {
    const store = new InMemoryStore();
    store.batch('b', students(4));
    const shutdown = new AbortController();
    let letMailGo!: () => void;
    const mailer = countingMailer(new Promise<void>((resolve) => (letMailGo = resolve)));
    const run = runBatch(deps(store, { mailer, shutdown: shutdown.signal, concurrency: 1 }), 'b');
    await new Promise((resolve) => setTimeout(resolve, 20)); // S0 is sending
    shutdown.abort();
    letMailGo();
    await expect(run).rejects.toBeInstanceOf(TaskHandedBackError);
    expect(mailer.sent).toEqual(['S0']);
    expect(store.workflow('S0').status).toBe('completed');
    for (const id of ['S1', 'S2', 'S3']) expect(store.workflow(id)).toMatchObject({ status: 'pending', owner: null, attempts: 0 });
    expect(store.tasks.get('b')).toMatchObject({ status: 'pending', owner: null });

    // The next run finishes it, sending each remaining e-mail once.
    const next = countingMailer();
    await runBatch(deps(store, { mailer: next }), 'b');
    expect(next.sent.sort()).toEqual(['S1', 'S2', 'S3']);
    expect(store.tasks.get('b')).toMatchObject({ status: 'completed', details: { completed: 4, failed: 0 } });
  });
});
