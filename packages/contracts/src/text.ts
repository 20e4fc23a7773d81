import { z } from 'zod';

/**
 * Control characters (C0, DEL, C1) and lone UTF-16 surrogates. No name, code, key or id
 * holds one; NUL in particular is refused by PostgreSQL's text type (a 500 instead of a
 * 400), and a lone surrogate is silently replaced on its way to UTF-8. This is the one rule:
 * the schemas below apply it to every free string, and the gateway to paths and queries.
 */
const UNSAFE_CHARACTER = /[\p{Cc}\p{Cs}]/u;

export function hasUnsafeCharacters(value: string): boolean {
  return UNSAFE_CHARACTER.test(value);
}

export const UNSAFE_CHARACTER_MESSAGE = 'must not contain control characters';

/** A string of at most `max` characters (at least `min`), none of them control characters. */
export function safeString(max: number, min = 0): z.ZodString {
  return z
    .string()
    .min(min)
    .max(max)
    .refine((value) => !hasUnsafeCharacters(value), UNSAFE_CHARACTER_MESSAGE);
}

/**
 * Text a person typed (a name, a room type): no control characters (checked before trimming,
 * so a tab or newline at the edges is refused too, not silently cut), then trimmed, 1 to `max`.
 */
export function safeText(max: number): z.ZodString {
  return z
    .string()
    .refine((value) => !hasUnsafeCharacters(value), UNSAFE_CHARACTER_MESSAGE)
    .trim()
    .min(1)
    .max(max);
}

/** RFC 5321: a mailbox is at most 254 characters, its local part at most 64. */
export const MAX_EMAIL_LENGTH = 254;
export const MAX_EMAIL_LOCAL_PART = 64;

export const Email = z
  .email()
  .max(MAX_EMAIL_LENGTH)
  .refine((value) => value.slice(0, value.lastIndexOf('@')).length <= MAX_EMAIL_LOCAL_PART, {
    message: `the part before @ may have at most ${MAX_EMAIL_LOCAL_PART} characters`,
  });
