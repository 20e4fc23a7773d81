import express, { Router, type Express } from 'express';
import type { QueueInspector, RpcClient } from '@cupo/amqp';
import type { CircuitBreakers } from '@cupo/circuit-breakers';
import { httpDurationHistogram, requestId, type Logger } from '@cupo/service-kit';
import type { Registry } from 'prom-client';
import { authenticate, type TokenPolicy } from './http/auth.js';
import { requestLog, requestMetrics } from './http/observe.js';
import { problem, problemHandler, sendProblem } from './http/problem.js';
import type { RateLimits } from './http/rate-limit.js';
import { refuseUnsafeInput } from './http/validate.js';
import type { IdempotencyStore } from './idempotency/idempotency-store.js';
import { bookingRoutes } from './routes/bookings.js';
import { enrollmentRoutes } from './routes/enrollments.js';
import { opsRoutes } from './routes/ops.js';
import { queryRoutes } from './routes/queries.js';
import { onboardingRoutes } from './routes/onboarding.js';
import { uiRoutes } from './routes/ui.js';
import { roomRoutes } from './routes/rooms.js';

export interface GatewayDeps {
  rpc: RpcClient;
  queues: QueueInspector;
  idempotency: IdempotencyStore;
  breakers: CircuitBreakers;
  /** This gateway's name, as ops reports its breakers. */
  instance: string;
  /** How long ops waits for every replica's breakers. */
  gatherWindowMs: number;
  /** How bearer tokens are verified (secret, lifetime cap, issuer, audience). */
  tokens: TokenPolicy;
  /** Serve POST /api/dev/token (development sign-in for the UI). */
  devLogin?: boolean;
  logger: Logger;
  /** Where the request metrics go; they are served on the ops port, not here. */
  registry: Registry;
  /** True once shutdown has begun: answers then close their connection (see main.ts). */
  isDraining: () => boolean;
  /** Per-client and per-user request budgets, shared by the replicas. */
  rateLimits: RateLimits;
  /** Express's `trust proxy`: which hops' X-Forwarded-For names the client (false: none). */
  trustProxy: boolean | number | string;
  /** Largest JSON bodies accepted: every route, and the admin's ingest (a list of students). */
  bodyLimits: { jsonBytes: number; ingestBytes: number };
}

/** The one route whose body may be large; it is parsed only once its caller is a verified admin. */
export const INGEST_PATH = '/api/admin/onboarding/ingest';

/**
 * Builds the public HTTP API from its dependencies; listening is main.ts's job. Readiness
 * and metrics are not here: they are on the ops port (main.ts), which the public Service does
 * not expose. `/healthz` stays, as a liveness answer for whoever fronts the public port.
 */
export function createApp(deps: GatewayDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('trust proxy', deps.trustProxy);

  // First: every response, /healthz included, carries its X-Request-Id.
  app.use(requestId());
  // While draining, every answer closes its connection: a keep-alive client then opens its
  // next request on a new connection, which the load balancer sends to a replica that
  // stays, instead of finding this one's socket closed under it.
  app.use((_req, res, next) => {
    if (deps.isDraining()) res.set('Connection', 'close');
    next();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.use(requestLog(deps.logger));
  app.use(requestMetrics(httpDurationHistogram(deps.registry)));
  app.use(refuseUnsafeInput());
  // Before the body is read: a client over its budget costs one Redis call, not a parse.
  app.use('/api', deps.rateLimits.perClient());
  const json = (limit: number) => express.json({ limit, strict: false, type: () => true });
  const smallJson = json(deps.bodyLimits.jsonBytes);
  app.use((req, res, next) => (req.path === INGEST_PATH ? next() : smallJson(req, res, next)));

  // A verified token, then that user's budget: an unverified `sub` must not spend anyone's.
  const auth = Router().use(authenticate(deps.tokens), deps.rateLimits.perUser());
  app.use(uiRoutes({ tokens: deps.tokens, devLogin: deps.devLogin ?? false }));
  app.use(roomRoutes(deps.rpc, auth));
  app.use(bookingRoutes(deps.rpc, deps.idempotency, auth));
  app.use(enrollmentRoutes(deps.rpc, auth));
  app.use(queryRoutes(deps.rpc, auth));
  app.use(onboardingRoutes(deps.rpc, auth, json(deps.bodyLimits.ingestBytes)));
  app.use(
    opsRoutes({
      rpc: deps.rpc,
      queues: deps.queues,
      breakers: deps.breakers,
      idempotency: deps.idempotency,
      auth,
      instance: deps.instance,
      gatherWindowMs: deps.gatherWindowMs,
    }),
  );

  app.use((req, res) => {
    sendProblem(res, problem(404, 'NOT_FOUND', `No route for ${req.method} ${req.path}`));
  });
  app.use(problemHandler(deps.logger));
  return app;
}
