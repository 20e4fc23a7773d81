import type { IngestPhase, IngestProgress, TaskCounts, TaskSummary } from '@cupo/contracts';
import { DomainError } from '@cupo/errors';
import type { TaskStatus } from './ports.js';

/** An ingest and the counts of the work under it, as one read gives them. */
export interface IngestTree {
  taskId: string;
  status: TaskStatus;
  details: Record<string, unknown>;
  createdAt: string;
  batches: TaskCounts;
  workflows: TaskCounts & { with_warnings: number };
  /** The latest end among the ingest, its batches and their workflows. */
  lastFinishedAt: string | null;
}

/** The reads that let an admin follow onboarding at one query per look. */
export interface OnboardingProgressReader {
  /** Undefined when no ingest task has that id. */
  ingestTree(taskId: string): Promise<IngestTree | undefined>;
  taskSummary(): Promise<TaskSummary>;
}

export class IngestNotFoundError extends DomainError {
  constructor(id: string) {
    super('not_found', 'TASK_NOT_FOUND', `No ingest task ${id}`);
  }
}

const unfinished = (counts: TaskCounts) => counts.pending + counts.running;

/**
 * An ingest task completes as soon as it has planned its batches, long before a single
 * student is onboarded: the phase is what the work under it says, so nobody reads
 * "completed" while 0 of 15 workflows are done. A batch ends only after its workflows do,
 * so the ingest is over once every batch has ended.
 */
export function phaseOf(tree: Pick<IngestTree, 'status' | 'batches'>): IngestPhase {
  switch (tree.status) {
    case 'pending':
      return 'queued';
    case 'running':
      return 'reading';
    case 'failed':
      return 'failed';
    case 'completed':
      return unfinished(tree.batches) > 0 ? 'onboarding' : 'finished';
  }
}

const count = (value: unknown): number | null => (typeof value === 'number' ? value : null);

export async function getIngestProgress(reader: OnboardingProgressReader, taskId: string): Promise<IngestProgress> {
  const tree = await reader.ingestTree(taskId);
  if (!tree) throw new IngestNotFoundError(taskId);
  const phase = phaseOf(tree);
  const { details } = tree;
  return {
    task_id: tree.taskId,
    phase,
    source: typeof details['source'] === 'string' ? details['source'] : null,
    received: count(details['received']),
    new: count(details['new']),
    already_seen: count(details['already_seen']),
    batches: tree.batches,
    workflows: tree.workflows,
    error: typeof details['error'] === 'string' ? details['error'] : null,
    created_at: tree.createdAt,
    finished_at: phase === 'finished' || phase === 'failed' ? tree.lastFinishedAt : null,
  };
}
