import { describe, expect, it } from 'vitest';
import { getIngestProgress, phaseOf, type IngestTree, type OnboardingProgressReader } from './ingest-progress.js';

const counts = (over: Partial<IngestTree['batches']> = {}) => ({ total: 0, pending: 0, running: 0, completed: 0, failed: 0, ...over });

const tree = (over: Partial<IngestTree> = {}): IngestTree => ({
  taskId: '00000000-0000-4000-8000-000000000001',
  status: 'completed',
  details: { source: 'request', received: 15, new: 15, already_seen: 0 },
  createdAt: '2026-01-01T00:00:00.000Z',
  batches: counts({ total: 1, running: 1 }),
  workflows: { ...counts({ total: 15, pending: 15 }), with_warnings: 0 },
  lastFinishedAt: '2026-01-01T00:00:01.000Z',
  ...over,
});

const reader = (found: IngestTree | undefined): OnboardingProgressReader => ({
  ingestTree: async () => found,
  taskSummary: async () => ({ ingest: counts(), batch: counts(), workflow: counts(), stuck: 0 }),
});

describe('an ingest’s progress', () => {
  it('is still onboarding while a batch is unfinished, though the ingest task itself completed', () => {
    expect(phaseOf(tree())).toBe('onboarding');
    expect(phaseOf(tree({ batches: counts({ total: 2, completed: 1, pending: 1 }) }))).toBe('onboarding');
  });

  it('is finished once every batch has ended, failed ones included', () => {
    expect(phaseOf(tree({ batches: counts({ total: 2, completed: 1, failed: 1 }) }))).toBe('finished');
    expect(phaseOf(tree({ batches: counts() }))).toBe('finished');
  });

  it('is queued, reading or failed while the ingest task itself is', () => {
    expect(phaseOf(tree({ status: 'pending' }))).toBe('queued');
    expect(phaseOf(tree({ status: 'running' }))).toBe('reading');
    expect(phaseOf(tree({ status: 'failed' }))).toBe('failed');
  });

  it('names no end time while work remains, and the last end once it is over', async () => {
    expect((await getIngestProgress(reader(tree()), tree().taskId)).finished_at).toBeNull();
    const over = tree({ batches: counts({ total: 1, completed: 1 }) });
    expect(await getIngestProgress(reader(over), over.taskId)).toMatchObject({
      phase: 'finished',
      received: 15,
      new: 15,
      source: 'request',
      finished_at: '2026-01-01T00:00:01.000Z',
    });
  });

  it('is TASK_NOT_FOUND for an id that names no ingest', async () => {
    await expect(getIngestProgress(reader(undefined), tree().taskId)).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
  });
});
