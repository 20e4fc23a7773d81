import { z } from 'zod';
import { DomainError } from '@cupo/errors';
import { ValidationError } from './problem.js';

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

const Uuid = z.uuid();

/** A path id that cannot be a uuid names nothing that exists: `404 <code>`, not a 400. */
export function uuidParam(raw: string | string[] | undefined, code: string, what: string): string {
  const parsed = Uuid.safeParse(raw);
  if (!parsed.success) throw new DomainError('not_found', code, `${what} ${String(raw)} does not exist`);
  return parsed.data;
}

/** The `Idempotency-Key` header: what bookings and enrollments accept. */
export const IdempotencyKeyHeader = z.string().regex(/^[\x21-\x7e]{1,255}$/, 'must be 1 to 255 visible ASCII characters');
