import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError, DomainError } from '@cupo/errors';
import { backoffMs, jobFate, type Delivery, type JobEvent, type JobFate } from './job-fate.js';

const policy = { maxAttempts: 3, deliveryLimit: 10, backoff: { initialMs: 100, maxMs: 1_000 } };
const fresh: Delivery = { attempt: 1, deliveries: 0, outages: 0 };
const bug = new Error('TypeError in the handler');
class SomethingRefusedError extends DomainError {
  constructor() {
    super('conflict', 'SOMETHING_REFUSED', 'refused');
  }
}
const refused = new SomethingRefusedError();
const away = new DependencyUnavailableError('postgres');
class NoAnswerError extends DomainError {
  constructor() {
    super('timeout', 'TIMEOUT', 'no answer in time');
  }
}
const timedOut = new NoAnswerError();

/** The jitter the table uses: a fixed draw, so delays are exact. */
const half = () => 0.5;

describe('jobFate', () => {
  it.each<[string, JobEvent, Partial<Delivery>, JobFate]>([
    ['an unparseable payload is dead-lettered at once', { type: 'unparseable' }, {}, { fate: 'dead_letter' }],
    ['a parsed message runs', { type: 'received' }, {}, { fate: 'run' }],
    ['one delivered 9 times unsettled still runs', { type: 'received' }, { deliveries: 9 }, { fate: 'run' }],
    [
      'one at its delivery limit is given up on without running (it kills its consumers)',
      { type: 'received' },
      { deliveries: 10 },
      { fate: 'give_up' },
    ],
    ['handled is acked', { type: 'handled' }, {}, { fate: 'ack' }],
    ['handled on its last attempt is acked too', { type: 'handled' }, { attempt: 3 }, { fate: 'ack' }],
    [
      'a failure retries with backoff, counting an attempt',
      { type: 'failed', error: bug },
      {},
      { fate: 'retry', nextAttempt: 2, delayMs: 50 },
    ],
    [
      'a second failure waits twice as long',
      { type: 'failed', error: bug },
      { attempt: 2 },
      { fate: 'retry', nextAttempt: 3, delayMs: 100 },
    ],
    ['a refusal is a failure like any other', { type: 'failed', error: refused }, {}, { fate: 'retry', nextAttempt: 2, delayMs: 50 }],
    ['the last attempt’s failure gives up', { type: 'failed', error: bug }, { attempt: 3 }, { fate: 'give_up' }],
    ['past the last attempt too', { type: 'failed', error: bug }, { attempt: 7 }, { fate: 'give_up' }],
    [
      'a dependency away costs no attempt',
      { type: 'failed', error: away },
      { attempt: 3 },
      { fate: 'outage_retry', outages: 1, delayMs: 50 },
    ],
    ['a timeout is transient too', { type: 'failed', error: timedOut }, {}, { fate: 'outage_retry', outages: 1, delayMs: 50 }],
    [
      'outages back off further each time',
      { type: 'failed', error: away },
      { outages: 3 },
      { fate: 'outage_retry', outages: 4, delayMs: 400 },
    ],
    [
      'outage backoff stops growing at its ceiling',
      { type: 'failed', error: away },
      { outages: 30 },
      { fate: 'outage_retry', outages: 31, delayMs: 500 },
    ],
    [
      'a give-up its owner could not record waits for the outage',
      { type: 'give_up_unrecorded' },
      { attempt: 3 },
      { fate: 'outage_retry', outages: 1, delayMs: 50 },
    ],
    ['a failed move hands the delivery back after a pause', { type: 'move_failed' }, {}, { fate: 'hand_back', delayMs: 75 }],
    ['longer for one handed out more often', { type: 'move_failed' }, { deliveries: 2 }, { fate: 'hand_back', delayMs: 300 }],
    ['capped at the backoff maximum', { type: 'move_failed' }, { deliveries: 40 }, { fate: 'hand_back', delayMs: 750 }],
  ])('%s', (_name, event, delivery, expected) => {
    expect(jobFate(event, { ...fresh, ...delivery }, policy, half)).toEqual(expected);
  });

  it('draws the retry delay uniformly up to the ceiling (full jitter), never below 1 ms', () => {
    const delay = (draw: number) =>
      (jobFate({ type: 'failed', error: bug }, { ...fresh, attempt: 2 }, policy, () => draw) as { delayMs: number }).delayMs;
    expect(delay(0)).toBe(1);
    expect(delay(1)).toBe(200);
  });

  it('hands back after at least half the ceiling (equal jitter)', () => {
    const pause = (draw: number) =>
      (jobFate({ type: 'move_failed' }, { ...fresh, deliveries: 1 }, policy, () => draw) as { delayMs: number }).delayMs;
    expect(pause(0)).toBe(100);
    expect(pause(1)).toBe(200);
  });
});

describe('backoffMs', () => {
  it('doubles from initialMs up to maxMs', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(policy.backoff, n, 1))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });
});
