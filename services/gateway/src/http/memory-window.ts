import { BoundedLru } from './bounded-lru.js';

/** How many clients or users one replica counts in memory while Redis is away. */
export const FALLBACK_KEYS = 10_000;

/**
 * The rate limiter's fallback while Redis cannot answer: fixed-window counters in this replica's
 * memory, like rate-limiter-flexible's RateLimiterMemory, but in a BoundedLru: at most `maxKeys`
 * clients or users are counted at once. A flood of distinct addresses evicts the least recently
 * seen counters (their next request starts a fresh window) instead of growing the heap; Redis's
 * budgets, shared by every replica, are the ones that hold exactly.
 */
export class MemoryWindowCounter {
  private readonly windows: BoundedLru<string, { startedAt: number; count: number }>;

  constructor(
    private readonly durationMs: number,
    maxKeys = FALLBACK_KEYS,
    private readonly now: () => number = Date.now,
  ) {
    this.windows = new BoundedLru(maxKeys);
  }

  get size(): number {
    return this.windows.size;
  }

  /** Counts one request for `key`: how many it has made in its window, and when the window ends. */
  consume(key: string): { consumedPoints: number; msBeforeNext: number } {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || now >= window.startedAt + this.durationMs) {
      window = { startedAt: now, count: 0 };
      this.windows.set(key, window);
    }
    window.count += 1;
    return { consumedPoints: window.count, msBeforeNext: window.startedAt + this.durationMs - now };
  }
}
