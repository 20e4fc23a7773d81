import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `requestId`, first in every chain. */
      requestId: string;
    }
  }
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * `X-Request-Id`: echoed when it is sent (and sane), generated otherwise, on every response
 * of every HTTP server a process runs — the public API and the ops port alike, so a probe or
 * a scrape that went wrong can be found in the logs as any request can.
 */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const sent = req.get('x-request-id');
    req.requestId = sent && REQUEST_ID.test(sent) ? sent : randomUUID();
    res.set('X-Request-Id', req.requestId);
    next();
  };
}
