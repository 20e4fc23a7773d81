import { isTransient } from '@cupo/errors';

/**
 * What becomes of a job message, decided without a channel in sight: the job consumer reports
 * what happened to a delivery and does what this answers. Pure (randomness comes in as
 * `random`), so every rule is one row of a table test.
 */

/** What happened to one delivery. */
export type JobEvent =
  /** Its payload could not be parsed. */
  | { type: 'unparseable' }
  /** Parsed, not yet run: should it run at all? */
  | { type: 'received' }
  /** The handler finished (its effects are committed). */
  | { type: 'handled' }
  /** The handler threw. */
  | { type: 'failed'; error: unknown }
  /** Giving up was decided, but the owner could not record it (its database is away). */
  | { type: 'give_up_unrecorded' }
  /** Moving the message (to the retry or dead queue) failed: the broker refused or did not confirm. */
  | { type: 'move_failed' };

/** Where a delivery stands, from its headers. */
export interface Delivery {
  /** 1 on the first try; outage retries do not count (`x-attempts`). */
  attempt: number;
  /** Earlier deliveries that were never settled (quorum queues' `x-delivery-count`). */
  deliveries: number;
  /** Retries so far because a dependency was away (`x-outage-retries`). */
  outages: number;
}

export interface FatePolicy {
  maxAttempts: number;
  deliveryLimit: number;
  backoff: { initialMs: number; maxMs: number };
}

export type JobFate =
  /** Run the handler. */
  | { fate: 'run' }
  /** Done: ack. */
  | { fate: 'ack' }
  /** Straight to the dead-letter queue (retrying cannot fix it). */
  | { fate: 'dead_letter' }
  /** Record the failure with the job's owner, then dead-letter. */
  | { fate: 'give_up' }
  /** To the retry queue for `delayMs`, counting an attempt. */
  | { fate: 'retry'; nextAttempt: number; delayMs: number }
  /** To the retry queue for `delayMs` without counting an attempt: the job is not at fault. */
  | { fate: 'outage_retry'; outages: number; delayMs: number }
  /** Back to its queue (nack with requeue) after `delayMs`. */
  | { fate: 'hand_back'; delayMs: number };

/** Exponential backoff with full jitter (AWS's "full jitter"): uniform in [0, min(max, initial·2^(n-1))], at least 1 ms. */
export function backoffMs(backoff: FatePolicy['backoff'], attempt: number, jitter: number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (attempt - 1));
  return Math.max(1, Math.round(jitter * ceiling));
}

export function jobFate(event: JobEvent, delivery: Delivery, policy: FatePolicy, random: () => number = Math.random): JobFate {
  switch (event.type) {
    case 'unparseable':
      return { fate: 'dead_letter' };
    case 'received':
      // Its last delivery before the broker gives up on it: every earlier one ended without an
      // ack or a nack — its consumer died holding it. Running it again would likely kill this
      // one too, so the failure is recorded instead and the message parked.
      return delivery.deliveries >= policy.deliveryLimit ? { fate: 'give_up' } : { fate: 'run' };
    case 'handled':
      return { fate: 'ack' };
    case 'failed':
      if (isTransient(event.error)) return outageRetry(delivery, policy, random);
      if (delivery.attempt >= policy.maxAttempts) return { fate: 'give_up' };
      return { fate: 'retry', nextAttempt: delivery.attempt + 1, delayMs: backoffMs(policy.backoff, delivery.attempt, random()) };
    case 'give_up_unrecorded':
      return outageRetry(delivery, policy, random);
    case 'move_failed': {
      // "Equal jitter": at least half the ceiling, so each try that finds the broker still
      // refusing waits longer than the last instead of asking again in a tight loop.
      const ceiling = backoffMs(policy.backoff, Math.min(delivery.deliveries + 1, 10), 1);
      return { fate: 'hand_back', delayMs: Math.round(ceiling / 2 + (random() * ceiling) / 2) };
    }
  }
}

function outageRetry(delivery: Delivery, policy: FatePolicy, random: () => number): JobFate {
  const outages = delivery.outages + 1;
  return { fate: 'outage_retry', outages, delayMs: backoffMs(policy.backoff, Math.min(outages, 10), random()) };
}
