import type { z } from 'zod';
import type { Page } from '@cupo/contracts';
import { DomainError } from '@cupo/errors';

/** A cursor that this list did not give out (edited, from another list, or garbage). */
export class InvalidCursorError extends DomainError {
  constructor() {
    const message = 'is not a cursor this list gave out; start again without one';
    super('invalid', 'VALIDATION_FAILED', `cursor: ${message}`, { errors: [{ path: 'cursor', message }] });
  }
}

/**
 * Keyset pagination of one list. The list's SQL orders by a unique key (its sort columns,
 * ending in a unique one) and fetches `limit + 1` rows strictly after the key the cursor
 * names; the extra row only tells that a next page exists. A page query is thereby one
 * index range scan of `limit + 1` entries however deep the client pages, and rows inserted
 * meanwhile never shift a page (an offset would repeat or skip rows).
 *
 * The cursor is opaque to clients: base64url of `[list, ...key]`. It is not signed: it only
 * says where to resume, while who may read what comes from the request and its actor, so an
 * edited cursor can at worst start the caller's own list at another place. Decoding checks
 * the list name and the key's types, so a forged or foreign cursor is a 400, never a query
 * with odd parameters.
 *
 * @typeParam S the schema of the sort key's values, in ORDER BY order (a zod tuple)
 */
export class Keyset<S extends z.ZodType<readonly unknown[]>, K extends z.output<S> = z.output<S>> {
  constructor(
    private readonly list: string,
    private readonly key: S,
  ) {}

  encode(key: K): string {
    return Buffer.from(JSON.stringify([this.list, ...key])).toString('base64url');
  }

  /** The key after which the page starts; undefined for the first page. */
  decode(cursor: string | undefined): K | undefined {
    if (cursor === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    } catch {
      throw new InvalidCursorError();
    }
    if (!Array.isArray(parsed) || parsed[0] !== this.list) throw new InvalidCursorError();
    const key = this.key.safeParse(parsed.slice(1));
    if (!key.success) throw new InvalidCursorError();
    return key.data as K;
  }

  /**
   * Turns the `limit + 1` rows a page query fetched into the page: at most `limit` items,
   * and the cursor of the last one when the extra row shows that more follow.
   */
  page<R, T>(rows: readonly R[], limit: number, keyOf: (row: R) => K, toItem: (row: R) => T): Page<T> {
    const shown = rows.slice(0, limit);
    const page: Page<T> = { items: shown.map(toItem) };
    const last = shown.at(-1);
    if (rows.length > limit && last !== undefined) page.next = this.encode(keyOf(last));
    return page;
  }
}
