import express, { Router, type Express } from 'express';
import type { Redis } from 'ioredis';
import { QueueInspector, type AmqpConnectionManager, type RpcClient } from '@cupo/amqp';
import { addRedisBreaker, CircuitBreakers } from '@cupo/circuit-breakers';
import { httpDurationHistogram, requestId, type Logger } from '@cupo/service-kit';
import type { Registry } from 'prom-client';
import { authenticate, type TokenPolicy } from './http/auth.js';
import { requestLog, requestMetrics } from './http/observe.js';
import { problem, problemHandler, sendProblem } from './http/problem.js';
import type { GatewayConfig } from './config.js';
import { RateLimits } from './http/rate-limit.js';
import { refuseUnsafeInput } from './http/validate.js';
import { IdempotencyStore } from './idempotency/idempotency-store.js';
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

/** The gateway's breakers: `redis`, around every Redis call (idempotency keys and rate limits). */
export function gatewayBreakers(registry: Registry, config: GatewayConfig): CircuitBreakers {
  return addRedisBreaker(new CircuitBreakers(registry), config);
}

/**
 * Builds the gateway from its clients and config: the `redis` breaker every Redis call goes
 * through, the idempotency store and the rate limits on it, and the HTTP API over them.
 */
export function createGateway(deps: {
  rpc: RpcClient;
  amqp: AmqpConnectionManager;
  redis: Redis;
  config: GatewayConfig;
  logger: Logger;
  registry: Registry;
  instance: string;
  isDraining: () => boolean;
  /** The gateway's breakers (gatewayBreakers), shared with the ops broadcast server main.ts starts. */
  breakers?: CircuitBreakers;
}): Express {
  const { config } = deps;
  const breakers = deps.breakers ?? gatewayBreakers(deps.registry, config);
  const idempotency = new IdempotencyStore(deps.redis, {
    guard: (call) => breakers.run('redis', call),
    keyPrefix: config.REDIS_KEY_PREFIX,
    ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
    leaseMs: config.RPC_TIMEOUT_MS + 2_000,
    waitMs: config.RPC_TIMEOUT_MS + 1_000,
  });
  const rateLimits = new RateLimits(deps.redis, {
    keyPrefix: config.REDIS_KEY_PREFIX,
    guard: (call) => breakers.run('redis', call),
    logger: deps.logger,
    registry: deps.registry,
    budgets: {
      windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
      clientReads: config.RATE_LIMIT_CLIENT_READS,
      clientWrites: config.RATE_LIMIT_CLIENT_WRITES,
      userReads: config.RATE_LIMIT_USER_READS,
      userWrites: config.RATE_LIMIT_USER_WRITES,
    },
  });
  return createApp({
    rpc: deps.rpc,
    queues: new QueueInspector(deps.amqp),
    idempotency,
    breakers,
    instance: deps.instance,
    gatherWindowMs: config.OPS_GATHER_WINDOW_MS,
    tokens: {
      secret: config.JWT_SECRET,
      maxLifetimeSeconds: config.JWT_MAX_LIFETIME_SECONDS,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
    },
    devLogin: config.DEV_LOGIN_ENABLED,
    logger: deps.logger,
    registry: deps.registry,
    isDraining: deps.isDraining,
    rateLimits,
    trustProxy: config.TRUST_PROXY,
    bodyLimits: { jsonBytes: config.BODY_LIMIT_BYTES, ingestBytes: config.INGEST_BODY_LIMIT_BYTES },
  });
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
