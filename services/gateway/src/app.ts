import express, { type Express } from 'express';
import type { QueueInspector, RpcClient } from '@cupo/amqp';
import type { CircuitBreakers } from '@cupo/circuit-breakers';
import { httpDurationHistogram, type Logger } from '@cupo/service-kit';
import type { Registry } from 'prom-client';
import { authenticate } from './http/auth.js';
import { requestId, requestLog, requestMetrics } from './http/observe.js';
import { problem, problemHandler, sendProblem } from './http/problem.js';
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
  jwtSecret: string;
  /** Serve POST /api/dev/token (development sign-in for the UI). */
  devLogin?: boolean;
  logger: Logger;
  /** Where the request metrics go; they are served on the ops port, not here. */
  registry: Registry;
  /** True once shutdown has begun: answers then close their connection (see main.ts). */
  isDraining: () => boolean;
}

/**
 * Builds the public HTTP API from its dependencies; listening is main.ts's job. Readiness
 * and metrics are not here: they are on the ops port (main.ts), which the public Service does
 * not expose. `/healthz` stays, as a liveness answer for whoever fronts the public port.
 */
export function createApp(deps: GatewayDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

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

  app.use(requestId());
  app.use(requestLog(deps.logger));
  app.use(requestMetrics(httpDurationHistogram(deps.registry)));
  app.use(express.json({ limit: '64kb', strict: false, type: () => true }));

  const auth = authenticate(deps.jwtSecret);
  app.use(uiRoutes({ jwtSecret: deps.jwtSecret, devLogin: deps.devLogin ?? false }));
  app.use(roomRoutes(deps.rpc, auth));
  app.use(bookingRoutes(deps.rpc, deps.idempotency, auth));
  app.use(enrollmentRoutes(deps.rpc, auth));
  app.use(queryRoutes(deps.rpc, auth));
  app.use(onboardingRoutes(deps.rpc, auth));
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
