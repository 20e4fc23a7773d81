import type { RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Histogram } from 'prom-client';
import type { Logger } from '@cupo/service-kit';

/** One JSON log line per request, with its request id, route, status and duration. */
export function requestLog(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId: (req) => (req as unknown as { requestId: string }).requestId,
    customProps: (req) => {
      const { requestId, actor } = req as unknown as { requestId: string; actor?: { id: string } };
      return actor ? { requestId, userId: actor.id } : { requestId };
    },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    serializers: {
      req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
  }) as unknown as RequestHandler;
}

/** Request duration by route template (not raw path, which would explode cardinality). */
export function requestMetrics(histogram: Histogram<'method' | 'route' | 'status'>): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      histogram.observe({ method: req.method, route, status: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
