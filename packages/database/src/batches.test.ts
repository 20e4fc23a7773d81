import { describe, expect, it } from 'vitest';
import { inBatches } from './batches.js';

/** A backlog of `n` rows, taken `size` at a time. */
const backlog = (n: number) => {
  let left = n;
  const calls: number[] = [];
  return {
    calls,
    take: (size: number) => async () => {
      const taken = Math.min(size, left);
      left -= taken;
      calls.push(taken);
      return taken;
    },
  };
};

describe('inBatches', () => {
  it('stops at the first short batch and says nothing is left', async () => {
    const b = backlog(2_500);
    expect(await inBatches({ size: 1_000, maxBatches: 10 }, b.take(1_000))).toEqual({ rows: 2_500, complete: true });
    expect(b.calls).toEqual([1_000, 1_000, 500]);
  });

  it('stops after maxBatches full batches, not knowing whether more are left', async () => {
    const b = backlog(5_000);
    expect(await inBatches({ size: 1_000, maxBatches: 3 }, b.take(1_000))).toEqual({ rows: 3_000, complete: false });
  });

  it('an exact multiple takes one more, empty, batch to know it is done', async () => {
    const b = backlog(2_000);
    expect(await inBatches({ size: 1_000, maxBatches: 10 }, b.take(1_000))).toEqual({ rows: 2_000, complete: true });
    expect(b.calls).toEqual([1_000, 1_000, 0]);
  });

  it('with a deadline already past, runs the one batch in hand and stops', async () => {
    const b = backlog(5_000);
    expect(await inBatches({ size: 1_000, until: Date.now() - 1 }, b.take(1_000))).toEqual({ rows: 1_000, complete: false });
  });

  it('with neither bound, goes on until the backlog is gone', async () => {
    const b = backlog(7_300);
    expect(await inBatches({ size: 1_000, until: Date.now() + 60_000 }, b.take(1_000))).toEqual({ rows: 7_300, complete: true });
    expect(b.calls).toHaveLength(8);
  });
});
