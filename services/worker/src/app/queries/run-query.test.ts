import { afterEach, describe, expect, it, vi } from 'vitest';
import type { QueryRequestBody } from '@cupo/contracts';
import { DependencyUnavailableError, DomainError } from '@cupo/errors';
import { InMemoryQueryStore } from '../../testing/fakes.js';
import type { ReportSources } from './ports.js';
import { expireQueries, failQuery, runQuery, type RunQueryDeps } from './run-query.js';

class SectionNotFoundError extends DomainError {
  constructor() {
    super('not_found', 'SECTION_NOT_FOUND', 'no such section');
  }
}

const occupancy = { type: 'occupancy_report' as const, params: { from: '2026-01-01', to: '2026-01-08' } };

/** Owners that answer as scripted, one entry per ask; records the asks. */
function scriptedSources(
  ...answers: (unknown | Error)[]
): ReportSources & { asks: { query: QueryRequestBody; timeoutMs: number; requestId: string }[] } {
  const asks: { query: QueryRequestBody; timeoutMs: number; requestId: string }[] = [];
  return {
    asks,
    async compute(query, options) {
      asks.push({ query, ...options });
      const answer = answers.shift();
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}

function setUp(sources: ReportSources, sourceTimeoutMs = 5_000) {
  const store = new InMemoryQueryStore();
  const finished: [string, string][] = [];
  const deps: RunQueryDeps = {
    store,
    sources,
    metrics: { finished: (type, status) => void finished.push([type, status]) },
    resultTtlSeconds: 3_600,
    sourceTimeoutMs,
  };
  return { store, deps, finished };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('runQuery', () => {
  it('asks the owner and stores the answer once', async () => {
    const sources = scriptedSources({ nights: 3 });
    const { store, deps, finished } = setUp(sources);
    const q = await store.submit('q1', occupancy, 'S1', 'req', 60_000);
    await runQuery(deps, q.query_id, 'req-9');
    expect(await store.find('q1')).toMatchObject({ status: 'completed', result: { nights: 3 } });
    expect(sources.asks).toEqual([{ query: occupancy, requestId: 'req-9', timeoutMs: 5_000 }]);
    expect(finished).toEqual([['occupancy_report', 'completed']]);
    // Redelivered: already answered, the owner is not asked again.
    await runQuery(deps, q.query_id, 'req-9');
    expect(sources.asks).toHaveLength(1);
    expect(finished).toHaveLength(1);
  });

  it('takes the owner’s refusal as the query’s outcome', async () => {
    const { store, deps, finished } = setUp(scriptedSources(new SectionNotFoundError()));
    await store.submit('q1', occupancy, 'S1', 'req', 60_000);
    await runQuery(deps, 'q1', 'r');
    expect(await store.find('q1')).toMatchObject({ status: 'failed', error: { code: 'SECTION_NOT_FOUND', detail: 'no such section' } });
    expect(finished).toEqual([['occupancy_report', 'failed']]);
  });

  it('throws an outage back to the consumer while time is left, storing nothing', async () => {
    const { store, deps } = setUp(scriptedSources(new DependencyUnavailableError('inventory')));
    await store.submit('q1', occupancy, 'S1', 'req', 60_000);
    await expect(runQuery(deps, 'q1', 'r')).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect((await store.find('q1'))?.status).toBe('pending');
  });

  it('never gives the owner longer than the time left before the deadline', async () => {
    const sources = scriptedSources({ ok: true });
    const { store, deps } = setUp(sources, 10_000);
    await store.submit('q1', occupancy, 'S1', 'req', 1_000);
    await runQuery(deps, 'q1', 'r');
    expect(sources.asks[0]!.timeoutMs).toBeLessThanOrEqual(1_000);
    expect(sources.asks[0]!.timeoutMs).toBeGreaterThan(0);
  });

  it('ends a query past its deadline failed without asking anyone', async () => {
    const sources = scriptedSources({ ok: true });
    const { store, deps } = setUp(sources);
    await store.submit('q1', occupancy, 'S1', 'req', 60_000);
    store.setDeadline('q1', new Date(Date.now() - 1));
    await runQuery(deps, 'q1', 'r');
    expect(await store.find('q1')).toMatchObject({ status: 'failed', error: { code: 'QUERY_DEADLINE_EXCEEDED' } });
    expect(sources.asks).toEqual([]);
  });

  it('ends it failed with the last reason when the deadline passes during a failed ask', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { store, deps } = setUp({
      compute: async () => {
        vi.setSystemTime(Date.now() + 61_000); // the ask outlived the query's minute
        throw new DependencyUnavailableError('inventory');
      },
    });
    await store.submit('q1', occupancy, 'S1', 'req', 60_000);
    await runQuery(deps, 'q1', 'r');
    const ended = await store.find('q1');
    expect(ended).toMatchObject({ status: 'failed', error: { code: 'QUERY_DEADLINE_EXCEEDED' } });
    expect(ended!.error!.detail).toContain('inventory is unavailable');
  });

  it('does nothing for a query that does not exist', async () => {
    const sources = scriptedSources({ ok: true });
    const { deps } = setUp(sources);
    await runQuery(deps, 'missing', 'r');
    expect(sources.asks).toEqual([]);
  });
});

describe('failQuery', () => {
  it('ends the query failed with the attempts and the last cause', async () => {
    const { store, deps, finished } = setUp(scriptedSources());
    await store.submit('q1', occupancy, 'S1', 'req', 60_000);
    await failQuery(deps, 'q1', 5, 'boom');
    expect(await store.find('q1')).toMatchObject({
      status: 'failed',
      error: { code: 'PROCESSING_FAILED', detail: 'Processing failed 5 times; gave up. Last error: boom' },
    });
    expect(finished).toEqual([['occupancy_report', 'failed']]);
  });

  it('leaves an answered query as it is', async () => {
    const { store, deps } = setUp(scriptedSources());
    await store.submit('q1', occupancy, 'S1', 'req', 60_000);
    await store.complete('q1', { result: 1 }, 60);
    await failQuery(deps, 'q1', 5, 'boom');
    expect((await store.find('q1'))?.status).toBe('completed');
  });
});

describe('expireQueries', () => {
  it('ends every pending query past its deadline, and only those', async () => {
    const { store, deps, finished } = setUp(scriptedSources());
    await store.submit('late', occupancy, 'S1', 'req', 60_000);
    await store.submit('fine', occupancy, 'S1', 'req', 60_000);
    store.setDeadline('late', new Date(Date.now() - 1));
    expect(await expireQueries(deps)).toBe(1);
    expect(await store.find('late')).toMatchObject({ status: 'failed', error: { code: 'QUERY_DEADLINE_EXCEEDED' } });
    expect((await store.find('fine'))?.status).toBe('pending');
    expect(finished).toEqual([['occupancy_report', 'failed']]);
  });
});
