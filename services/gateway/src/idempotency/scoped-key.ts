/**
 * The stored name of an idempotency key: its kind, then its caller, then what the caller sent
 * (or what the key is derived from). Keys belong to their caller, so the caller is part of the
 * name — with its length in front, because user ids and keys may both contain `:`: without it,
 * user `a` with key `b:c` and user `a:b` with key `c` would share one entry.
 *
 * `booking:7:guest-1:my-key`, `enrollment:6:RA0001:1-2025:G-A,G-B` — what
 * `DELETE /api/ops/idempotency/{key}` takes.
 */
export function scopedKey(kind: 'booking' | 'enrollment', userId: string, ...parts: string[]): string {
  return `${kind}:${userId.length}:${userId}:${parts.join(':')}`;
}
