import { describe, expect, it } from 'vitest';
import type { IncomingStudent, OnboardingConfig } from '@cupo/contracts';
import { DependencyUnavailableError } from '@cupo/errors';
import { TaskHeldError } from '../../domain/errors.js';
import { silentLogger } from '../../testing/fakes.js';
import { ProviderRejectedError, ProviderUnavailableError, type ClaimOutcome, type OnboardingStore, type StudentSource } from './ports.js';
import { runIngest } from './run-ingest.js';

const students = (...ids: string[]): IncomingStudent[] =>
  ids.map((id) => ({ id, name: `Student ${id}`, email: `${id.toLowerCase()}@example.com` }));

/** An ingest's rules over plain values: one claim at a time, and a student is new only once. */
class IngestStore {
  status: 'pending' | 'running' | 'completed' | 'failed' = 'pending';
  owner: string | null = null;
  input: IncomingStudent[] | null = null;
  batchSize = 2;
  readonly seen = new Set<string>();
  readonly batches: string[][] = [];
  details: Record<string, unknown> = {};
  failPlanning: Error | undefined;

  async claim(_id: string, owner: string): Promise<ClaimOutcome> {
    if (this.status === 'completed' || this.status === 'failed') return { claimed: false, state: 'ended' };
    if (this.status === 'running' && this.owner !== owner) return { claimed: false, state: 'held' };
    Object.assign(this, { status: 'running', owner });
    return { claimed: true, attempts: 1 };
  }
  async ingestInput(): Promise<IncomingStudent[] | null> {
    return this.input;
  }
  async getConfig(): Promise<OnboardingConfig> {
    return { batch_size: this.batchSize, rate_limit_directory_per_min: 1, rate_limit_lms_per_min: 1, rate_limit_email_per_min: 1 };
  }
  async planIngest(_id: string, incoming: IncomingStudent[], batchSize: number) {
    if (this.failPlanning) throw this.failPlanning;
    const fresh = incoming.filter((s) => !this.seen.has(s.id));
    fresh.forEach((s) => this.seen.add(s.id));
    const batches: string[] = [];
    for (let i = 0; i < fresh.length; i += batchSize) {
      this.batches.push(fresh.slice(i, i + batchSize).map((s) => s.id));
      batches.push(`batch-${this.batches.length}`);
    }
    Object.assign(this, { status: 'completed', owner: null, details: { received: incoming.length, new: fresh.length } });
    return { received: incoming.length, fresh: fresh.length, batches };
  }
  async finish(_id: string, owner: string, status: 'completed' | 'failed', details: Record<string, unknown>) {
    if (this.owner !== owner) return false;
    Object.assign(this, { status, owner: null, details: { ...this.details, ...details } });
    return true;
  }
  async release(_id: string, owner: string) {
    if (this.owner === owner) Object.assign(this, { status: 'pending', owner: null });
  }
}

function source(answer: IncomingStudent[] | Error): StudentSource & { reads: number } {
  const s = {
    reads: 0,
    async fetchStudents() {
      s.reads += 1;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return s;
}

const run = (store: IngestStore, from: StudentSource) =>
  runIngest(
    { store: store as unknown as OnboardingStore, source: from, logger: silentLogger, leaseMs: 30_000, replicaId: 'test:1' },
    'ingest-1',
  );

describe('runIngest', () => {
  it('plans the students given in the request in batches of batch_size, without asking the source', async () => {
    const store = new IngestStore();
    store.input = students('A', 'B', 'C');
    const sis = source([]);
    await run(store, sis);
    expect(store.batches).toEqual([['A', 'B'], ['C']]);
    expect(store.status).toBe('completed');
    expect(sis.reads).toBe(0);
  });

  it('pulls from the source when the request carried none (a scheduled ingest)', async () => {
    const store = new IngestStore();
    const sis = source(students('A', 'B', 'C', 'D', 'E'));
    await run(store, sis);
    expect(sis.reads).toBe(1);
    expect(store.batches).toEqual([['A', 'B'], ['C', 'D'], ['E']]);
  });

  it('starts nothing for students seen before', async () => {
    const store = new IngestStore();
    store.seen.add('A');
    await run(store, source(students('A', 'B')));
    expect(store.batches).toEqual([['B']]);
    expect(store.details).toMatchObject({ received: 2, new: 1 });
  });

  it('leaves a redelivered copy waiting while another run holds the ingest', async () => {
    const store = new IngestStore();
    Object.assign(store, { status: 'running', owner: 'other:2/abcd' });
    await expect(run(store, source(students('A')))).rejects.toBeInstanceOf(TaskHeldError);
    expect(store.batches).toEqual([]);
  });

  it('does nothing for an ingest that has ended', async () => {
    const store = new IngestStore();
    store.status = 'completed';
    const sis = source(students('A'));
    await run(store, sis);
    expect(sis.reads).toBe(0);
  });

  it('hands a source that is briefly away back to the consumer, releasing the claim', async () => {
    const store = new IngestStore();
    await expect(run(store, source(new ProviderUnavailableError('503')))).rejects.toBeInstanceOf(ProviderUnavailableError);
    expect(store.status).toBe('pending');
    expect(store.owner).toBeNull();
  });

  it('fails the ingest when the source refuses', async () => {
    const store = new IngestStore();
    await run(store, source(new ProviderRejectedError('401 bad token')));
    expect(store.status).toBe('failed');
    expect(store.details.error).toBe('student-information source: 401 bad token');
  });

  it('releases the claim when its own database fails while planning', async () => {
    const store = new IngestStore();
    store.failPlanning = new DependencyUnavailableError('postgres');
    await expect(run(store, source(students('A')))).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(store.status).toBe('pending');
    // The next delivery plans it.
    store.failPlanning = undefined;
    await run(store, source(students('A')));
    expect(store.batches).toEqual([['A']]);
  });
});
