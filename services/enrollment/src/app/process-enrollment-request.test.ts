import { beforeEach, describe, expect, it } from 'vitest';
import { planSaga, reserved, validated } from '../domain/saga.js';
import { InMemorySagaStore, meeting, recordingMetrics } from './in-memory.fake.js';
import { abandonEnrollmentRequest, prefetchFor, processEnrollmentRequest } from './process-enrollment-request.js';

/**
 * processEnrollmentRequest and abandonEnrollmentRequest against an in-memory saga store whose
 * transactions are atomic and which records the sections each transaction locked. The rule
 * that keeps opposite-order requests from deadlocking is asserted directly: no transaction
 * ever holds more than one section's lock.
 */
let store: InMemorySagaStore;
let recorded: ReturnType<typeof recordingMetrics>;
const deps = () => ({ store, metrics: recorded.metrics });

function expectOneSeatLockPerTransaction() {
  for (const tx of store.transactions) expect(tx.sectionLocks.length, JSON.stringify(tx)).toBeLessThanOrEqual(1);
}

beforeEach(() => {
  store = new InMemorySagaStore();
  recorded = recordingMetrics();
  store.addStudent('RA1');
  store.addStudent('RA2', false);
  store.addTerm('T1');
  store.addTerm('T0', false);
  store.addSection({ code: 'A', course: 'CA', schedule: meeting('mon') });
  store.addSection({ code: 'B', course: 'CB', schedule: meeting('tue') });
  store.addSection({ code: 'C', course: 'CC', schedule: meeting('wed') });
  store.addSection({ code: 'FULL', course: 'CF', schedule: meeting('thu'), capacity: 1, enrolled: 1 });
  store.addSection({ code: 'CLASH', course: 'CX', schedule: meeting('mon', '08:30', '09:30') });
});

describe('processing an enrollment request', () => {
  it('takes every seat and confirms them, one section lock per transaction', async () => {
    store.addRequest('r1', 'RA1', ['A', 'B', 'C']);
    await processEnrollmentRequest(deps(), 'r1');

    expect(store.state.requests.get('r1')!.status).toBe('completed');
    expect(store.state.sagas.get('r1')!.saga.status).toBe('completed');
    expect(store.state.seats.map((s) => [s.section, s.status])).toEqual([
      ['A', 'active'],
      ['B', 'active'],
      ['C', 'active'],
    ]);
    expect(['A', 'B', 'C'].map((code) => store.state.sections.get(code)!.enrolled)).toEqual([1, 1, 1]);
    // validate + A, then B, then C + confirm: one transaction per section, each locking only it.
    expect(store.transactions.map((tx) => tx.sectionLocks)).toEqual([['A'], ['B'], ['C']]);
    expectOneSeatLockPerTransaction();
    expect(recorded.finished).toEqual([expect.objectContaining({ status: 'completed', compensations: 0 })]);
  });

  it('asks the store to read each next step with the saga’s lock', async () => {
    store.addRequest('r1', 'RA1', ['A', 'B']);
    await processEnrollmentRequest(deps(), 'r1');
    expect(store.prefetches).toEqual([{ facts: true, seat: { first: true } }, { seat: { section: 'B' } }]);
  });

  it('keeps one section lock per transaction when the store cannot prefetch', async () => {
    store.ignorePrefetch = true;
    store.addRequest('r1', 'RA1', ['A', 'B']);
    await processEnrollmentRequest(deps(), 'r1');
    expect(store.state.requests.get('r1')!.status).toBe('completed');
    expect(store.transactions.map((tx) => tx.sectionLocks)).toEqual([['A'], ['B']]);
  });

  it('gives back the seats it took when a later one is full, newest first, and fails with the reason', async () => {
    store.addRequest('r1', 'RA1', ['A', 'B', 'FULL']);
    await processEnrollmentRequest(deps(), 'r1');

    const request = store.state.requests.get('r1')!;
    expect(request.status).toBe('failed');
    expect(request.error?.code).toBe('SECTION_FULL');
    expect(store.state.sagas.get('r1')!.saga.status).toBe('compensated');
    expect(store.state.seats.map((s) => [s.section, s.status])).toEqual([
      ['A', 'released'],
      ['B', 'released'],
    ]);
    expect(['A', 'B', 'FULL'].map((code) => store.state.sections.get(code)!.enrolled)).toEqual([0, 0, 1]);
    // A, B, FULL (refused), then B's release, then A's release: never two sections at once.
    expect(store.transactions.map((tx) => tx.sectionLocks)).toEqual([['A'], ['B'], ['FULL'], ['B'], ['A']]);
    expectOneSeatLockPerTransaction();
    expect(recorded.finished).toEqual([expect.objectContaining({ status: 'failed', code: 'SECTION_FULL', compensations: 2 })]);
  });

  it('refuses a request that fails validation without taking a seat', async () => {
    store.addRequest('inactive', 'RA2', ['A']);
    store.addRequest('closed', 'RA1', ['A'], 'T0');
    store.addRequest('overlap', 'RA1', ['A', 'CLASH']);
    for (const id of ['inactive', 'closed', 'overlap']) await processEnrollmentRequest(deps(), id);

    expect(['inactive', 'closed', 'overlap'].map((id) => store.state.requests.get(id)!.error?.code)).toEqual([
      'STUDENT_INACTIVE',
      'TERM_CLOSED',
      'SCHEDULE_CONFLICT',
    ]);
    expect(store.state.seats).toEqual([]);
    expect([...store.state.sagas.values()].map((s) => s.saga.status)).toEqual(['failed', 'failed', 'failed']);
    expectOneSeatLockPerTransaction();
  });

  it('refuses a seat that clashes with one the student already holds', async () => {
    store.addRequest('r1', 'RA1', ['A']);
    store.addRequest('r2', 'RA1', ['CLASH']);
    await processEnrollmentRequest(deps(), 'r1');
    await processEnrollmentRequest(deps(), 'r2');
    expect(store.state.requests.get('r2')!.error?.code).toBe('SCHEDULE_CONFLICT');
    expect(store.state.sections.get('CLASH')!.enrolled).toBe(0);
  });

  it('does nothing for a request already finished (a redelivered message) and reports once', async () => {
    store.addRequest('r1', 'RA1', ['A']);
    await processEnrollmentRequest(deps(), 'r1');
    const before = structuredClone(store.state);
    await processEnrollmentRequest(deps(), 'r1');
    expect(store.state).toEqual(before);
    expect(recorded.finished).toHaveLength(1);
  });

  it('does nothing for a request that does not exist', async () => {
    await expect(processEnrollmentRequest(deps(), 'missing')).resolves.toBeUndefined();
    expect(store.state.sagas.size).toBe(0);
  });

  it('resumes a saga whose consumer died between transactions, taking no seat twice', async () => {
    store.addRequest('r1', 'RA1', ['A', 'B']);
    store.crashInTransaction = 1; // the second transaction (B + confirm) never commits
    await expect(processEnrollmentRequest(deps(), 'r1')).rejects.toThrow('connection lost');
    expect(store.state.requests.get('r1')!.status).toBe('processing');
    expect(store.state.seats.map((s) => [s.section, s.status])).toEqual([['A', 'held']]);

    await processEnrollmentRequest(deps(), 'r1'); // the redelivery
    expect(store.state.requests.get('r1')!.status).toBe('completed');
    expect(store.state.seats.map((s) => [s.section, s.status])).toEqual([
      ['A', 'active'],
      ['B', 'active'],
    ]);
    expect(store.state.sections.get('A')!.enrolled).toBe(1);
    expectOneSeatLockPerTransaction();
  });

  it('takes no other section in a transaction that holds a prefetched lock the saga no longer needs', async () => {
    // The saga moved on elsewhere: A is taken, B is next; the hint (stale) locked A.
    store.addRequest('r1', 'RA1', ['A', 'B']);
    const saga = reserved(validated(planSaga('r1', ['A', 'B'])), 'A');
    store.state.sagas.set('r1', { saga, startedAt: new Date() });
    store.state.requests.get('r1')!.status = 'processing';
    store.state.sections.get('A')!.enrolled = 1;
    store.state.seats.push({ id: 's', studentId: 'RA1', section: 'A', course: 'CA', term: 'T1', requestId: 'r1', status: 'held' });
    const first = await store.inSaga('r1', async (unit) => unit.lockedSeat, { seat: { section: 'A' } });
    expect(first).toBe('A');

    store.transactions = [];
    const stale = store.inSaga.bind(store);
    let calls = 0;
    store.inSaga = (id, work, prefetch) => stale(id, work, calls++ === 0 ? { seat: { section: 'A' } } : prefetch);
    await processEnrollmentRequest(deps(), 'r1');
    expect(store.state.requests.get('r1')!.status).toBe('completed');
    expect(store.transactions.map((tx) => tx.sectionLocks)).toEqual([['A'], ['B']]);
    expect(store.state.sections.get('A')!.enrolled).toBe(1);
  });
});

describe('prefetchFor', () => {
  it('names the next reservation’s section, and nothing when no seat lock is next', () => {
    const saga = validated(planSaga('r', ['A', 'B']));
    expect(prefetchFor(planSaga('r', ['A']))).toEqual({ facts: true, seat: { first: true } });
    expect(prefetchFor(saga)).toEqual({ seat: { section: 'A' } });
    expect(prefetchFor(reserved(reserved(saga, 'A'), 'B'))).toEqual({});
  });
});

describe('abandoning a request whose processing keeps failing', () => {
  it('fails a request not yet validated without taking anything', async () => {
    store.addRequest('r1', 'RA1', ['A']);
    await abandonEnrollmentRequest(deps(), 'r1', 5, 'boom');
    const request = store.state.requests.get('r1')!;
    expect([request.status, request.error?.code]).toEqual(['failed', 'PROCESSING_FAILED']);
    expect(store.state.seats).toEqual([]);
    expect(recorded.finished).toEqual([expect.objectContaining({ status: 'failed', code: 'PROCESSING_FAILED' })]);
  });

  it('gives back the seats a half-done saga holds', async () => {
    store.addRequest('r1', 'RA1', ['A', 'B']);
    store.crashInTransaction = 1;
    await expect(processEnrollmentRequest(deps(), 'r1')).rejects.toThrow();
    await abandonEnrollmentRequest(deps(), 'r1', 5, 'boom');

    const request = store.state.requests.get('r1')!;
    expect([request.status, request.error?.code]).toEqual(['failed', 'PROCESSING_FAILED']);
    expect(store.state.seats.map((s) => [s.section, s.status])).toEqual([['A', 'released']]);
    expect(store.state.sections.get('A')!.enrolled).toBe(0);
    expectOneSeatLockPerTransaction();
  });

  it('leaves a finished request as it is', async () => {
    store.addRequest('r1', 'RA1', ['A']);
    await processEnrollmentRequest(deps(), 'r1');
    await abandonEnrollmentRequest(deps(), 'r1', 5, 'boom');
    expect(store.state.requests.get('r1')!.status).toBe('completed');
  });
});
