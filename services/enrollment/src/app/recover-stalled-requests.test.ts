import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { recoverStalledRequests } from './recover-stalled-requests.js';

describe('the recovery sweep', () => {
  it('re-announces the stalled requests it is given room for, then purges expired keys', async () => {
    const calls: unknown[] = [];
    const stores = {
      sagas: {
        requeueStalled: async (staleMs: number, limit: number) => {
          calls.push(['requeueStalled', staleMs, limit]);
          return ['r1', 'r2'];
        },
      },
      ops: {
        purgeExpiredKeys: async () => {
          calls.push(['purgeExpiredKeys']);
          return 3;
        },
      },
    };
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    await recoverStalledRequests(stores, { staleMs: 30_000, batch: 200 }, logger);
    expect(calls).toEqual([['requeueStalled', 30_000, 200], ['purgeExpiredKeys']]);
    expect(lines.map((line) => JSON.parse(line).msg)).toEqual(['stalled requests re-announced', 'expired idempotency keys purged']);
  });

  it('stays quiet when nothing was stalled or expired', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    await recoverStalledRequests(
      { sagas: { requeueStalled: async () => [] }, ops: { purgeExpiredKeys: async () => 0 } },
      { staleMs: 1, batch: 1 },
      logger,
    );
    expect(lines).toEqual([]);
  });
});
