import type { Request, Response } from 'express';
import { z } from 'zod';
import { PageQuery, type Page, type PageRequest } from '@cupo/contracts';
import { parseInput } from './validate.js';

/**
 * A list endpoint's query: its own filters plus `limit` (default 50, at most 200) and the
 * opaque `cursor` of a previous page. Filters and paging are refused together, field by
 * field, like any other bad input.
 */
export function parseListQuery<S extends z.ZodObject>(filters: S, query: unknown): { filters: z.output<S>; page: PageRequest } {
  const { limit, cursor, ...rest } = parseInput(filters.extend(PageQuery.shape), query) as z.output<S> & PageRequest;
  return { filters: rest as z.output<S>, page: cursor === undefined ? { limit } : { limit, cursor } };
}

/**
 * Sends one page: the body stays a JSON array (what clients of unpaged lists already read),
 * and the next page, when there is one, is named in `Link: <…>; rel="next"` (RFC 8288). The
 * link repeats the request's own query with the new cursor, as a path relative to this
 * server, so it is right behind any proxy without trusting a Host header.
 */
export function sendPage(req: Request, res: Response, page: Page<unknown>): void {
  if (page.next !== undefined) res.set('Link', `<${nextPageUrl(req, page.next)}>; rel="next"`);
  res.json(page.items);
}

function nextPageUrl(req: Request, cursor: string): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(req.query)) {
    if (name !== 'cursor' && typeof value === 'string') params.set(name, value);
  }
  params.set('cursor', cursor);
  const path = req.originalUrl.split('?')[0]!;
  return `${path}?${params.toString()}`;
}
