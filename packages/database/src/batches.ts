export interface BatchLimits {
  /** Rows one statement takes; a shorter batch means nothing matching is left. */
  size: number;
  /** Statements at most (a periodic pass costs the same however large the backlog). */
  maxBatches?: number;
  /** Epoch ms after which no further statement starts (the one in hand finishes). */
  until?: number;
}

/**
 * Runs `batch` (one bounded statement, returning how many rows it took) again and again: until
 * a batch comes back short, `maxBatches` have run, or `until` has passed. `complete` says the
 * last batch came back short — nothing matching was left. The purges and sweeps that must not
 * touch a whole backlog in one statement all loop this way.
 */
export async function inBatches(limits: BatchLimits, batch: () => Promise<number>): Promise<{ rows: number; complete: boolean }> {
  let rows = 0;
  for (let i = 0; i < (limits.maxBatches ?? Number.POSITIVE_INFINITY); i++) {
    const taken = await batch();
    rows += taken;
    if (taken < limits.size) return { rows, complete: true };
    if (limits.until !== undefined && Date.now() >= limits.until) break;
  }
  return { rows, complete: false };
}
