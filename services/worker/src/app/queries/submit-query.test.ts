import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '@cupo/errors';
import { ReportForbiddenError } from '../../domain/errors.js';
import { InMemoryQueryStore } from '../../testing/fakes.js';
import { submitQuery } from './submit-query.js';

const occupancy = { type: 'occupancy_report' as const, params: { from: '2026-01-01', to: '2026-01-08' } };
const roster = { type: 'section_roster' as const, params: { section: 'G-ELC108-E' } };
const student = { id: 'S1', role: 'student' as const };
const admin = { id: 'A1', role: 'admin' as const };

function deps() {
  const store = new InMemoryQueryStore();
  return { store, deadlineMs: 60_000 };
}

describe('submitQuery', () => {
  it('records the query pending with its message and deadline, and answers where to poll', async () => {
    const d = deps();
    const before = Date.now();
    const accepted = await submitQuery(d, occupancy, student, 'req-1');
    expect(accepted).toEqual({ query_id: expect.any(String), status: 'pending', status_url: `/api/queries/${accepted.query_id}` });
    const stored = await d.store.find(accepted.query_id);
    expect(stored).toMatchObject({ type: 'occupancy_report', status: 'pending', requested_by: 'S1', params: occupancy.params });
    expect(Date.parse(stored!.deadline_at) - before).toBeGreaterThanOrEqual(60_000);
    expect(d.store.outbox).toEqual([{ query_id: accepted.query_id, request_id: 'req-1' }]);
  });

  it('gives each query its own id', async () => {
    const d = deps();
    const a = await submitQuery(d, occupancy, student, 'r');
    const b = await submitQuery(d, occupancy, student, 'r');
    expect(a.query_id).not.toBe(b.query_id);
    expect(d.store.queries.size).toBe(2);
  });

  it('refuses a roster to a non-admin before recording anything', async () => {
    const d = deps();
    await expect(submitQuery(d, roster, student, 'r')).rejects.toBeInstanceOf(ReportForbiddenError);
    expect(d.store.queries.size).toBe(0);
    expect(d.store.outbox).toEqual([]);
  });

  it('records a roster for an admin', async () => {
    const d = deps();
    const accepted = await submitQuery(d, roster, admin, 'r');
    expect((await d.store.find(accepted.query_id))?.type).toBe('section_roster');
  });

  it('passes the store’s outage on, and records nothing', async () => {
    const d = deps();
    d.store.failWith = new DependencyUnavailableError('postgres');
    await expect(submitQuery(d, occupancy, student, 'r')).rejects.toBeInstanceOf(DependencyUnavailableError);
  });
});
