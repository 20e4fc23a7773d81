import { describe, expect, it } from 'vitest';
import { NotYourEnrollmentError } from '../domain/errors.js';
import { InMemorySagaStore } from './in-memory.fake.js';
import { listEnrollmentRequests } from './list-enrollment-requests.js';

function store() {
  const s = new InMemorySagaStore();
  s.addRequest('q', 'RA1', ['A']);
  s.addRequest('p', 'RA1', ['A']).status = 'processing';
  s.addRequest('c', 'RA1', ['A']).status = 'completed';
  s.addRequest('other', 'RA2', ['A']);
  return s;
}
const me = { id: 'RA1', role: 'student' as const };

describe('a student’s own requests', () => {
  it('are the caller’s only, all of them or narrowed by status, "open" meaning queued or processing', async () => {
    const ids = async (filter?: Parameters<typeof listEnrollmentRequests>[2]) =>
      (await listEnrollmentRequests(store(), me, filter, { limit: 50 })).items.map((view) => view.request_id);
    expect(await ids()).toEqual(['q', 'p', 'c']);
    expect(await ids('open')).toEqual(['q', 'p']);
    expect(await ids('completed')).toEqual(['c']);
  });

  it('are refused to a guest', async () => {
    await expect(listEnrollmentRequests(store(), { id: 'g', role: 'guest' }, undefined, { limit: 50 })).rejects.toBeInstanceOf(
      NotYourEnrollmentError,
    );
  });
});
