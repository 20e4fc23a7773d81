/**
 * Automatic cleanup of finished sagas (seed 001: "limpieza automática de sagas completadas"),
 * beside the manual purge of /api/ops/sagas. Each pass deletes sagas that ended (completed,
 * compensated or failed) more than `retentionSeconds` ago, oldest first, in batches of `batch`
 * and at most `maxBatches` of them: a pass's work is bounded whatever the history holds, and a
 * backlog (a retention just shortened, a long outage) drains over the following passes.
 * Running sagas are never touched: they still own seats.
 */
export interface FinishedSagaPurger {
  /** Deletes up to `limit` of the oldest finished sagas past retention; how many, by final status. */
  purgeBatch(retentionSeconds: number, limit: number): Promise<Record<string, number>>;
}

export interface PurgeFinishedSagasOptions {
  /** 0 turns the cleanup off. */
  retentionSeconds: number;
  batch: number;
  maxBatches: number;
}

export async function purgeFinishedSagas(
  purger: FinishedSagaPurger,
  options: PurgeFinishedSagasOptions,
  removed: (status: string, count: number) => void,
): Promise<number> {
  if (options.retentionSeconds <= 0) return 0;
  let total = 0;
  for (let pass = 0; pass < options.maxBatches; pass++) {
    const byStatus = await purger.purgeBatch(options.retentionSeconds, options.batch);
    let count = 0;
    for (const [status, n] of Object.entries(byStatus)) {
      removed(status, n);
      count += n;
    }
    total += count;
    if (count < options.batch) break;
  }
  return total;
}
