import type { IncomingStudent, OnboardingConfig } from '@cupo/contracts';
import { DependencyUnavailableError } from '@cupo/errors';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { TaskHandedBackError, TaskHeldError } from '../../domain/errors.js';
import { runBatch, type BatchDeps } from './run-batch.js';
import {
  ProviderRejectedError,
  ProviderUnavailableError,
  type ClaimOutcome,
  type Directory,
  type EffectClaim,
  type Mailer,
  type OnboardingStore,
  type Task,
  type WorkflowUnit,
} from './ports.js';

/** The store's rules (claims, leases, effects) over plain maps: what runBatch relies on, nothing more. */
class InMemoryStore implements Partial<OnboardingStore> {
  readonly tasks = new Map<string, { type: Task['type']; status: Task['status']; parent?: string; student?: IncomingStudent; owner: string | null; leaseUntil: number; attempts: number; details: Record<string, unknown> }>();
  readonly effects = new Map<string, { status: 'claimed' | 'done'; owner: string | null; leaseUntil: number; externalId: string | null }>();
  failConfirms = 0;

  batch(id: string, students: IncomingStudent[]): void {
    this.tasks.set(id, { type: 'batch', status: 'pending', owner: null, leaseUntil: 0, attempts: 0, details: {} });
    for (const s of students) this.tasks.set(`wf-${s.id}`, { type: 'workflow', status: 'pending', parent: id, student: s, owner: null, leaseUntil: 0, attempts: 0, details: {} });
  }

  async getConfig(): Promise<OnboardingConfig> {
    return { batch_size: 20, rate_limit_directory_per_min: 60_000, rate_limit_lms_per_min: 60_000, rate_limit_email_per_min: 60_000 };
  }

  async claim(taskId: string, owner: string, leaseMs: number): Promise<ClaimOutcome> {
    const t = this.tasks.get(taskId);
    if (!t) return { claimed: false, state: 'missing' };
    if (t.status === 'completed' || t.status === 'failed') return { claimed: false, state: 'ended' };
    if (t.status === 'running' && t.owner !== null && t.owner !== owner && t.leaseUntil > Date.now()) return { claimed: false, state: 'held' };
    Object.assign(t, { status: 'running', owner, leaseUntil: Date.now() + leaseMs, attempts: t.attempts + 1 });
    return { claimed: true, attempts: t.attempts };
  }

  async renew(taskId: string, owner: string, leaseMs: number): Promise<boolean> {
    for (const t of this.tasks.values()) if (t.owner === owner && t.status === 'running') t.leaseUntil = Date.now() + leaseMs;
    return this.tasks.get(taskId)?.owner === owner;
  }

  async release(taskId: string, owner: string, options: { refund: boolean; details?: Record<string, unknown> }): Promise<void> {
    const t = this.tasks.get(taskId)!;
    if (t.owner !== owner || t.status !== 'running') return;
    Object.assign(t, { status: 'pending', owner: null, leaseUntil: 0, attempts: Math.max(0, t.attempts - (options.refund ? 1 : 0)) });
    Object.assign(t.details, options.details);
  }

  async finish(taskId: string, owner: string, status: 'completed' | 'failed', details: Record<string, unknown>): Promise<boolean> {
    const t = this.tasks.get(taskId)!;
    if (t.owner !== owner || t.status !== 'running') return false;
    Object.assign(t, { status, owner: null, details: { ...t.details, ...details } });
    return true;
  }

  async batchWorkflows(batchId: string): Promise<WorkflowUnit[]> {
    return [...this.tasks.entries()]
      .filter(([, t]) => t.parent === batchId)
      .map(([taskId, t]) => ({ taskId, status: t.status, student: t.student! }));
  }

  async claimEffect(studentId: string, effect: string, owner: string, leaseMs: number): Promise<EffectClaim> {
    const key = `${studentId}/${effect}`;
    const e = this.effects.get(key);
    if (e?.status === 'done') return { state: 'done', externalId: e.externalId };
    if (e && e.owner !== owner && e.leaseUntil > Date.now()) return { state: 'held' };
    this.effects.set(key, { status: 'claimed', owner, leaseUntil: Date.now() + leaseMs, externalId: null });
    return { state: 'claimed', takeover: e !== undefined && e.owner !== owner };
  }

  async confirmEffect(studentId: string, effect: string, externalId: string): Promise<void> {
    if (this.failConfirms > 0) {
      this.failConfirms -= 1;
      throw new DependencyUnavailableError('PostgreSQL');
    }
    this.effects.set(`${studentId}/${effect}`, { status: 'done', owner: null, leaseUntil: 0, externalId });
  }

  async releaseEffect(studentId: string, effect: string, owner: string): Promise<void> {
    const key = `${studentId}/${effect}`;
    if (this.effects.get(key)?.status === 'claimed' && this.effects.get(key)?.owner === owner) this.effects.delete(key);
  }

  workflow(studentId: string) {
    return this.tasks.get(`wf-${studentId}`)!;
  }
}

const students = (n: number): IncomingStudent[] =>
  Array.from({ length: n }, (_, i) => ({ id: `S${i}`, name: `Student ${i}`, email: `s${i}@example.com` }));

/** A directory whose step fails for a student as scripted (a provider call that gave up), then succeeds. */
function scriptedDirectory(script: Record<string, Error[]> = {}): Directory & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async ensureAccount(student, call) {
      calls.push(student.id);
      const next = script[student.id]?.shift();
      if (next) throw next;
      return call('ensure', async () => ({ upn: `${student.id.toLowerCase()}@test`, created: true }));
    },
  };
}

function countingMailer(gate?: Promise<void>): Mailer & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    async sendWelcome(student, _upn, call) {
      return call('send', async () => {
        await gate;
        sent.push(student.id);
        return { messageId: `<welcome.${student.id}@test>` };
      });
    },
  };
}

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
    expect(store.workflow('S0')).toMatchObject({ status: 'failed', attempts: 3, details: { errors: ['directory: gave up after 3 attempts: 503'] } });
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
