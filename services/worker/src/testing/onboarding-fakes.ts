import type { IncomingStudent, OnboardingConfig } from '@cupo/contracts';
import { DependencyUnavailableError } from '@cupo/errors';
import type { ClaimOutcome, Directory, EffectClaim, Mailer, OnboardingStore, Task, WorkflowUnit } from '../app/onboarding/ports.js';

/** The store's rules (claims, leases, effects) over plain maps: what runBatch relies on, nothing more. */
export class InMemoryStore implements Partial<OnboardingStore> {
  readonly tasks = new Map<
    string,
    {
      type: Task['type'];
      status: Task['status'];
      parent?: string;
      student?: IncomingStudent;
      owner: string | null;
      leaseUntil: number;
      attempts: number;
      details: Record<string, unknown>;
    }
  >();
  readonly effects = new Map<string, { status: 'claimed' | 'done'; owner: string | null; leaseUntil: number; externalId: string | null }>();
  failConfirms = 0;

  batch(id: string, students: IncomingStudent[]): void {
    this.tasks.set(id, { type: 'batch', status: 'pending', owner: null, leaseUntil: 0, attempts: 0, details: {} });
    for (const s of students)
      this.tasks.set(`wf-${s.id}`, {
        type: 'workflow',
        status: 'pending',
        parent: id,
        student: s,
        owner: null,
        leaseUntil: 0,
        attempts: 0,
        details: {},
      });
  }

  async getConfig(): Promise<OnboardingConfig> {
    return { batch_size: 20, rate_limit_directory_per_min: 60_000, rate_limit_lms_per_min: 60_000, rate_limit_email_per_min: 60_000 };
  }

  async claim(taskId: string, owner: string, leaseMs: number): Promise<ClaimOutcome> {
    const t = this.tasks.get(taskId);
    if (!t) return { claimed: false, state: 'missing' };
    if (t.status === 'completed' || t.status === 'failed') return { claimed: false, state: 'ended' };
    if (t.status === 'running' && t.owner !== null && t.owner !== owner && t.leaseUntil > Date.now())
      return { claimed: false, state: 'held' };
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

export const students = (n: number): IncomingStudent[] =>
  Array.from({ length: n }, (_, i) => ({ id: `S${i}`, name: `Student ${i}`, email: `s${i}@example.com` }));

/** A directory whose step fails for a student as scripted (a provider call that gave up), then succeeds. */
export function scriptedDirectory(script: Record<string, Error[]> = {}): Directory & { calls: string[] } {
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

export function countingMailer(gate?: Promise<void>): Mailer & { sent: string[] } {
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
