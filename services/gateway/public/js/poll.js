// The one polling loop: every view that follows long work (an enrollment request, a report,
// an onboarding ingest) goes through it, so all of them keep the same manners — a steady,
// low rate (one look a second by default), longer waits after failures, whatever a 429's
// Retry-After asks, no looks while the tab is hidden, and an end when the page is left.

import { pageSignal, sleep } from './api.js';

/** What a look returns when the work is over: poll resolves to `value`. */
export const done = (value) => ({ done: true, value });

/** What a look returns otherwise; pass the answer so a 429 or a failure slows the loop down. */
export const again = (answer) => ({
  done: false,
  retryAfter: answer?.status === 429 ? answer.retryAfter : 0,
  failed: Boolean(answer && !answer.ok),
});

function whileHidden(signal) {
  if (!document.hidden) return Promise.resolve();
  return new Promise((resolve) => {
    const wake = () => {
      if (document.hidden && !signal.aborted) return;
      document.removeEventListener('visibilitychange', wake);
      resolve();
    };
    document.addEventListener('visibilitychange', wake);
    signal.addEventListener('abort', wake, { once: true });
  });
}

/**
 * Calls `look` until it returns done(value). `every` is the wait before each look in ms; a
 * list gives the first few waits (e.g. [250, 500, 1000]: quick first looks, then steady).
 * Rejects with LeftPage once the page is left.
 */
export async function poll(look, { every = [1000], maxWait = 30_000, signal = pageSignal() } = {}) {
  const waits = Array.isArray(every) ? every : [every];
  const steady = waits.at(-1);
  let failures = 0;
  for (let i = 0; ; i++) {
    await sleep(waits[Math.min(i, waits.length - 1)] + (failures ? Math.min(maxWait, steady * 2 ** failures) : 0), signal);
    await whileHidden(signal);
    const outcome = await look();
    if (outcome?.done) return outcome.value;
    failures = outcome?.failed ? failures + 1 : 0;
    if (outcome?.retryAfter) await sleep(outcome.retryAfter * 1000, signal);
  }
}
