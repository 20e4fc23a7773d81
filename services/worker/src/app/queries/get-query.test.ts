import { describe, expect, it } from 'vitest';
import { NotYourQueryError, QueryNotFoundError, ReportForbiddenError } from '../../domain/errors.js';
import { InMemoryQueryStore } from '../../testing/fakes.js';
import { getQuery } from './get-query.js';

const occupancy = { type: 'occupancy_report' as const, params: { from: '2026-01-01', to: '2026-01-08' } };
const roster = { type: 'section_roster' as const, params: { section: 'G-ELC108-E' } };

async function withQueries() {
  const store = new InMemoryQueryStore();
  const mine = await store.submit('11111111-1111-4111-8111-111111111111', occupancy, 'S1', 'r', 60_000);
  // A roster recorded for a student (the rule was looser then, or they were an admin).
  const oldRoster = await store.submit('22222222-2222-4222-8222-222222222222', roster, 'S1', 'r', 60_000);
  return { store, mine, oldRoster };
}

describe('getQuery', () => {
  it('shows its owner the query without who asked or its deadline', async () => {
    const { store, mine } = await withQueries();
    const view = await getQuery(store, mine.query_id, { id: 'S1', role: 'student' });
    expect(view).toEqual({
      query_id: mine.query_id,
      type: 'occupancy_report',
      status: 'pending',
      params: occupancy.params,
      created_at: mine.created_at,
    });
    expect(view).not.toHaveProperty('requested_by');
    expect(view).not.toHaveProperty('deadline_at');
  });

  it('shows the answer once there is one', async () => {
    const { store, mine } = await withQueries();
    await store.complete(mine.query_id, { result: { rooms: [] } }, 60);
    expect(await getQuery(store, mine.query_id, { id: 'S1', role: 'student' })).toMatchObject({
      status: 'completed',
      result: { rooms: [] },
    });
  });

  it('refuses another user’s query, and a roster to anyone but an admin', async () => {
    const { store, mine, oldRoster } = await withQueries();
    await expect(getQuery(store, mine.query_id, { id: 'S2', role: 'student' })).rejects.toBeInstanceOf(NotYourQueryError);
    await expect(getQuery(store, oldRoster.query_id, { id: 'S1', role: 'student' })).rejects.toBeInstanceOf(ReportForbiddenError);
    expect(await getQuery(store, oldRoster.query_id, { id: 'A1', role: 'admin' })).toMatchObject({ type: 'section_roster' });
    expect(await getQuery(store, mine.query_id, { id: 'A1', role: 'admin' })).toMatchObject({ query_id: mine.query_id });
  });

  it('is not found when there is no such query', async () => {
    const { store } = await withQueries();
    await expect(getQuery(store, '33333333-3333-4333-8333-333333333333', { id: 'A1', role: 'admin' })).rejects.toBeInstanceOf(
      QueryNotFoundError,
    );
  });
});
