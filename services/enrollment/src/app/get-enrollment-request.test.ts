import { describe, expect, it } from 'vitest';
import { NotYourEnrollmentError, RequestNotFoundError } from '../domain/errors.js';
import { planSaga, reserved, validated } from '../domain/saga.js';
import { getEnrollmentRequest } from './get-enrollment-request.js';
import { InMemorySagaStore } from './in-memory.fake.js';

const student = { id: 'RA1', role: 'student' as const };

function storeWith(status: 'queued' | 'processing' | 'completed' | 'failed', withSaga: boolean) {
  const store = new InMemorySagaStore();
  const request = store.addRequest('r1', 'RA1', ['A', 'B']);
  request.status = status;
  if (withSaga) store.state.sagas.set('r1', { saga: reserved(validated(planSaga('r1', ['A', 'B'])), 'A'), startedAt: new Date() });
  return store;
}

describe('reading an enrollment request', () => {
  it('shows its student each section as the saga has it', async () => {
    const view = await getEnrollmentRequest(storeWith('processing', true), 'r1', student);
    expect(view).toMatchObject({ request_id: 'r1', student_id: 'RA1', term: 'T1', status: 'processing' });
    expect(view.sections).toEqual([
      { code: 'A', status: 'reserved' },
      { code: 'B', status: 'pending' },
    ]);
  });

  it('goes by the request’s own outcome once its saga is purged', async () => {
    const view = await getEnrollmentRequest(storeWith('completed', false), 'r1', student);
    expect(view.sections.map((s) => s.status)).toEqual(['enrolled', 'enrolled']);
    const failed = await getEnrollmentRequest(storeWith('failed', false), 'r1', student);
    expect(failed.sections.map((s) => s.status)).toEqual(['not_attempted', 'not_attempted']);
  });

  it('lets admins read any, refuses another student and guests, and names a missing one', async () => {
    const store = storeWith('queued', false);
    await expect(getEnrollmentRequest(store, 'r1', { id: 'admin-1', role: 'admin' })).resolves.toMatchObject({ request_id: 'r1' });
    await expect(getEnrollmentRequest(store, 'r1', { id: 'RA2', role: 'student' })).rejects.toBeInstanceOf(NotYourEnrollmentError);
    await expect(getEnrollmentRequest(store, 'r1', { id: 'RA1', role: 'guest' })).rejects.toBeInstanceOf(NotYourEnrollmentError);
    await expect(getEnrollmentRequest(store, 'nope', student)).rejects.toBeInstanceOf(RequestNotFoundError);
  });
});
