import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Response } from 'express';
import { DomainError, httpStatusOf } from '@cupo/errors';
import type { Logger } from '@cupo/service-kit';

export interface FieldError {
  path: string;
  message: string;
}

export interface RenderedProblem {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

/** Builds an RFC 9457 problem: the only shape an error leaves the gateway in. */
export function problem(
  status: number,
  code: string,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): RenderedProblem {
  return {
    status,
    headers,
    body: {
      type: `urn:cupo:problem:${code.toLowerCase().replaceAll('_', '-')}`,
      title: STATUS_CODES[status] ?? 'Error',
      status,
      detail,
      code,
      ...extra,
    },
  };
}

/** A domain error as a problem: status by kind, plus the details a client can act on. */
export function renderDomainError(error: DomainError): RenderedProblem {
  const extra: Record<string, unknown> =
    error instanceof ValidationError ? { errors: error.errors } : pickPublicDetails(error.details ?? {});
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.retryAfterSeconds);
  const status = httpStatusOf(error);
  if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
  return problem(status, error.code, error.message, extra, headers);
}

export function sendProblem(res: Response, rendered: RenderedProblem): void {
  res.set(rendered.headers).status(rendered.status).type('application/problem+json').send(JSON.stringify(rendered.body));
}

export class ValidationError extends DomainError {
  constructor(readonly errors: FieldError[]) {
    super('invalid', 'VALIDATION_FAILED', errors.map((e) => `${e.path || 'body'}: ${e.message}`).join('; '), {
      errors,
    });
  }
}

/**
 * A path names something that cannot exist (an id that is no id): `404 <THING>_NOT_FOUND`, the
 * answer its owner would give for an id it does not know.
 */
export class ResourceNotFoundError extends DomainError {
  constructor(code: `${string}_NOT_FOUND`, what: string, named: string) {
    super('not_found', code, `${what} ${named} does not exist`);
  }
}

/**
 * Maps every error to a problem once: domain errors by kind, errors the HTTP layer already
 * classified (body-parser, the router: a `4xx` status on the error) as that status, anything
 * else logged in full and answered with a generic 500.
 */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    if (res.headersSent) return;
    if (error instanceof DomainError) {
      sendProblem(res, renderDomainError(error));
      return;
    }
    const classified = classifiedHttpError(error);
    if (classified) {
      sendProblem(res, classified);
      return;
    }
    ((req as { log?: Logger }).log ?? logger).error({ err: error }, 'unhandled error');
    sendProblem(res, problem(500, 'INTERNAL_ERROR', 'Something went wrong on our side'));
  };
}

/**
 * body-parser and the router mark what they refuse with an http-errors `status` (and for
 * body-parser a `type`): malformed JSON, an unknown or corrupt Content-Encoding (a truncated
 * gzip body is a zlib error wrapped as a 400), a body over the limit, a malformed
 * percent-escape in a path parameter. Those are the client's mistakes and keep their status.
 */
function classifiedHttpError(error: unknown): RenderedProblem | undefined {
  const e = error as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown };
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  if (typeof status !== 'number' || status < 400 || status > 499) return undefined;
  if (e.type === 'entity.parse.failed') {
    return problem(400, 'VALIDATION_FAILED', 'The request body is not valid JSON', {
      errors: [{ path: '', message: 'malformed JSON' }],
    });
  }
  if (status === 413) return problem(413, 'PAYLOAD_TOO_LARGE', 'The request body is too large');
  if (status === 415)
    return problem(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as UTF-8 application/json, uncompressed or gzip/deflate/br');
  if (status === 400) {
    const message = typeof e.message === 'string' ? e.message.slice(0, 200) : 'malformed request';
    // The router's URIError names a path parameter; everything else here is about the body.
    const path = error instanceof URIError ? 'url' : '';
    return problem(400, 'VALIDATION_FAILED', `The request is malformed: ${message}`, { errors: [{ path, message }] });
  }
  const code = (STATUS_CODES[status] ?? 'Bad Request').toUpperCase().replace(/[^A-Z]+/g, '_');
  return problem(status, code, STATUS_CODES[status] ?? 'The request was refused');
}

/** Details that help a client (which nights, which room); nothing internal. */
function pickPublicDetails(details: Record<string, unknown>): Record<string, unknown> {
  const allowed = ['room_id', 'nights', 'booking_id', 'errors'];
  return Object.fromEntries(Object.entries(details).filter(([key]) => allowed.includes(key)));
}
