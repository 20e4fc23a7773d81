import { IdempotencyKeyReusedError } from '@cupo/errors';
import { beforeEach, describe, expect, it } from 'vitest';
import { InMemorySagaStore, recordingMetrics } from './in-memory.fake.js';
import { submitEnrollment } from './submit-enrollment.js';

let store: InMemorySagaStore;
let recorded: ReturnType<typeof recordingMetrics>;
const deps = () => ({ store, metrics: recorded.metrics, keyTtlSeconds: 60 });
const command = (over: Partial<Parameters<typeof submitEnrollment>[1]> = {}) => ({
  student_id: 'RA1',
  term: 'T1',
  sections: ['A', 'B'],
  idempotency_key: 'enrollment:RA1:k1',
  derived_key: false,
  fingerprint: 'f1',
  ...over,
});

beforeEach(() => {
  store = new InMemorySagaStore();
  recorded = recordingMetrics();
});

describe('submitting an enrollment request', () => {
  it('records the request queued with its message and answers where to follow it', async () => {
    const { response, replayed } = await submitEnrollment(deps(), command(), 'req-1');
    expect(replayed).toBe(false);
    expect(response).toEqual({
      request_id: expect.any(String),
      status: 'queued',
      status_url: `/api/enrollments/requests/${response.request_id}`,
    });
    const request = store.state.requests.get(response.request_id)!;
    expect([request.studentId, request.term, request.sections, request.status]).toEqual(['RA1', 'T1', ['A', 'B'], 'queued']);
    expect(store.state.outbox).toEqual([response.request_id]);
    expect(recorded.submitted).toEqual(['accepted']);
  });

  it('answers a repeat of the same key and body with the first answer, recording nothing new', async () => {
    const first = await submitEnrollment(deps(), command(), 'req-1');
    const again = await submitEnrollment(deps(), command(), 'req-2');
    expect(again).toEqual({ response: first.response, replayed: true });
    expect(store.state.requests.size).toBe(1);
    expect(store.state.outbox).toHaveLength(1);
    expect(recorded.submitted).toEqual(['accepted', 'replayed']);
  });

  it('refuses the same key with another body', async () => {
    await submitEnrollment(deps(), command(), 'req-1');
    await expect(submitEnrollment(deps(), command({ sections: ['C'], fingerprint: 'f2' }), 'req-2')).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    expect(store.state.requests.size).toBe(1);
    expect(recorded.submitted).toEqual(['accepted', 'key_reused']);
  });
});
