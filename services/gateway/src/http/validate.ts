import type { RequestHandler } from 'express';
import { z } from 'zod';
import { hasUnsafeCharacters, UNSAFE_CHARACTER_MESSAGE } from '@cupo/contracts';
import { ResourceNotFoundError, ValidationError } from './problem.js';

/** Parses input with a schema, or throws VALIDATION_FAILED naming every offending field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((issue) => ({
      path: issue.path.map(String).join('.'),
      message: issue.message,
    })),
  );
}

/**
 * The contract's rule for strings, applied to what no body schema sees: the path (decoded,
 * as the router will decode its parameters) and every query parameter. A malformed
 * percent-escape or a control character is a 400 here, before any route, so none reaches a
 * queue or SQL — whatever the route does with it.
 */
export function refuseUnsafeInput(): RequestHandler {
  return (req, _res, next) => {
    let path: string;
    try {
      path = decodeURIComponent(req.path);
    } catch {
      throw new ValidationError([{ path: 'url', message: 'has a malformed percent-escape' }]);
    }
    if (hasUnsafeCharacters(path)) throw new ValidationError([{ path: 'url', message: UNSAFE_CHARACTER_MESSAGE }]);
    for (const [name, value] of Object.entries(req.query as Record<string, unknown>)) {
      const values = Array.isArray(value) ? value : [value];
      if (hasUnsafeCharacters(name) || values.some((v) => typeof v === 'string' && hasUnsafeCharacters(v))) {
        throw new ValidationError([{ path: `query.${name}`, message: UNSAFE_CHARACTER_MESSAGE }]);
      }
    }
    next();
  };
}

/** A path parameter that cannot be what the route names (an id, a code) names nothing: `404 <code>`, not a 400. */
export function pathParam<S extends z.ZodType>(
  schema: S,
  raw: string | string[] | undefined,
  code: `${string}_NOT_FOUND`,
  what: string,
): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ResourceNotFoundError(code, what, String(raw).slice(0, 100));
  return parsed.data;
}

const Uuid = z.uuid();

/** A path id that cannot be a uuid names nothing that exists: `404 <code>`, not a 400. */
export function uuidParam(raw: string | string[] | undefined, code: `${string}_NOT_FOUND`, what: string): string {
  return pathParam(Uuid, raw, code, what);
}

/** The `Idempotency-Key` header: what bookings and enrollments accept. */
export const IdempotencyKeyHeader = z.string().regex(/^[\x21-\x7e]{1,255}$/, 'must be 1 to 255 visible ASCII characters');
