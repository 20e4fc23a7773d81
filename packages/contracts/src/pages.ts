import { z } from 'zod';

/** Every list endpoint: `limit` items per page by default, and never more than the maximum. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
/** A cursor is a few sort-key values; anything longer was not given out by us. */
export const MAX_CURSOR_LENGTH = 512;

const Cursor = z.string().min(1).max(MAX_CURSOR_LENGTH);

/** `?limit=&cursor=` of a list endpoint (query strings are text, hence the coercion). */
export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE, `must be at most ${MAX_PAGE_SIZE}`).default(DEFAULT_PAGE_SIZE),
  cursor: Cursor.optional(),
});

/** The page a list command asks for: `limit` items after the position `cursor` names. */
export const PageRequest = z.object({ limit: z.number().int().min(1).max(MAX_PAGE_SIZE), cursor: Cursor.optional() });
export type PageRequest = z.infer<typeof PageRequest>;

/** What a list command answers: one page, and the cursor of the next when there may be more. */
export interface Page<T> {
  items: T[];
  next?: string;
}

/** The reply of a list command: a page of `item`. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next: Cursor.optional() });
}
