import { randomUUID } from 'node:crypto';
import { TaskHandedBackError, TaskHeldError } from '../../domain/errors.js';
import { runWorkflow, type BatchRun, type WorkflowDeps, type WorkflowOutcome } from './run-workflow.js';

export interface BatchDeps extends WorkflowDeps {
  heartbeatMs: number;
  /** Workflows of one batch run at once (the rate limits pace them anyway). */
  concurrency: number;
  /** Names this replica in its runs' owner ids (host and pid), for whoever reads a claim. */
  replicaId: string;
  /** Aborts when the replica shuts down: its runs hand back what they have not finished. */
  shutdown: AbortSignal;
}

/**
 * A batch: claims it (one owner at a time, for a lease its heartbeat renews), runs each of its
 * students' workflows that has not ended, then records the batch's outcome.
 *
 * A message for a batch another live run holds (redelivered, or re-announced by the reaper)
 * does not run beside it: TaskHeldError sends it to the retry queue, and it looks again later —
 * it ends once the batch has, or takes over if the holder died and its lease ran out. A run that
 * must stop (shutdown, or its lease was taken over) lets each workflow finish the request in
 * flight, releases what it has not finished and its claim on the batch, and throws
 * TaskHandedBackError, which re-queues the message for another run; finished workflows are
 * not run again.
 */
export async function runBatch(deps: BatchDeps, batchId: string): Promise<void> {
  if (deps.shutdown.aborted) throw new TaskHandedBackError(batchId, 'this replica is shutting down');
  const owner = `${deps.replicaId}/${randomUUID().slice(0, 8)}`;
  const claim = await deps.store.claim(batchId, owner, deps.leaseMs);
  if (!claim.claimed) {
    if (claim.state === 'held') throw new TaskHeldError(batchId);
    return;
  }
  const started = Date.now();
  const logger = deps.logger.child({ taskId: batchId, owner });
  const stop = new AbortController();
  const onShutdown = () => stop.abort(new TaskHandedBackError(batchId, 'this replica is shutting down'));
  deps.shutdown.addEventListener('abort', onShutdown, { once: true });
  const heartbeat = setInterval(() => {
    deps.store.renew(batchId, owner, deps.leaseMs).then(
      (held) => {
        if (!held && !stop.signal.aborted) {
          logger.warn('batch lease taken over by another run; handing back');
          stop.abort(new TaskHeldError(batchId));
        }
      },
      // A missed beat is harmless: the lease outlasts several.
      (error: unknown) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'heartbeat failed'),
    );
  }, deps.heartbeatMs);
  try {
    const run: BatchRun = { owner, signal: stop.signal, config: await deps.store.getConfig() };
    const tried = new Set<string>();
    let handedBack = false;
    // Round again for workflows reopened meanwhile (an admin's retry while the batch runs).
    for (;;) {
      const open = (await deps.store.batchWorkflows(batchId)).filter(
        (w) => (w.status === 'pending' || w.status === 'running') && !tried.has(w.taskId),
      );
      if (open.length === 0 || stop.signal.aborted) break;
      for (const w of open) tried.add(w.taskId);
      const outcomes = await inPool(open, deps.concurrency, (w) =>
        runWorkflow(deps, run, w).catch((error: unknown) => {
          logger.error({ err: error, workflow: w.taskId }, 'workflow run failed unexpectedly; handed back');
          return 'handed_back' as const;
        }),
      );
      if (outcomes.includes('handed_back')) handedBack = true;
    }
    const ended = await deps.store.batchWorkflows(batchId);
    const unfinished = ended.filter((w) => w.status === 'pending' || w.status === 'running').length;
    if (handedBack || unfinished > 0 || stop.signal.aborted) {
      const reason =
        stop.signal.reason instanceof Error
          ? stop.signal.reason
          : new TaskHandedBackError(batchId, `${unfinished} workflow(s) not finished`);
      logger.info({ unfinished, reason: reason.message }, 'batch handed back');
      throw reason;
    }
    const failed = ended.filter((w) => w.status === 'failed').length;
    const seconds = (Date.now() - started) / 1000;
    if (await deps.store.finish(batchId, owner, 'completed', { completed: ended.length - failed, failed, seconds })) {
      deps.metrics.batch(seconds);
      logger.info({ workflows: ended.length, failed, ms: Date.now() - started }, 'batch completed');
    }
  } catch (error) {
    // Handed back, or our store failed: free the claim if we still hold it, so the re-queued
    // message need not wait for the lease to run out.
    await deps.store.release(batchId, owner, { refund: true }).catch(() => undefined);
    throw error;
  } finally {
    clearInterval(heartbeat);
    deps.shutdown.removeEventListener('abort', onShutdown);
  }
}

/** Runs `work` over `items`, `concurrency` at a time. */
async function inPool<T>(items: T[], concurrency: number, work: (item: T) => Promise<WorkflowOutcome>): Promise<WorkflowOutcome[]> {
  const outcomes: WorkflowOutcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        outcomes[index] = await work(items[index]!);
      }
    }),
  );
  return outcomes;
}
