import { Router } from 'express';
import { deadQueueOf, retryQueueOf, type QueueInspector, type RpcClient } from '@cupo/amqp';
import { CircuitBreakerNotFoundError, healthOf, type BreakerSnapshot, type CircuitBreakers } from '@cupo/circuit-breakers';
import {
  EnrollmentBroadcasts,
  BreakerName,
  EnrollmentJobs,
  ForgetIdempotencyKey,
  GetEnrollmentStats,
  IdempotencyEntryKey,
  ListBreakers,
  ListSagas,
  OnboardingJobs,
  PurgeSagas,
  ResetBreaker,
  WorkerJobs,
  PurgeSagasQuery,
  SagasQuery,
  type BreakerState,
} from '@cupo/contracts';
import { requireRole, type authenticate } from '../http/auth.js';
import { parseListQuery, sendPage } from '../http/pagination.js';
import { parseInput, pathParam } from '../http/validate.js';
import { IdempotencyKeyNotFoundError, type IdempotencyStore } from '../idempotency/idempotency-store.js';

/** Every queue the system runs on: the services' command queues and the job queues with their retry and dead letters. */
const OBSERVED_QUEUES = [
  ...[EnrollmentJobs.queue, WorkerJobs.queryQueue, OnboardingJobs.queue].flatMap((q) => [q, retryQueueOf(q), deadQueueOf(q)]),
  ...['inventory', 'booking', 'enrollment', 'worker'].map((service) => `${service}.rpc`),
];

interface InstanceBreakers {
  instance: string;
  breakers: Record<string, BreakerSnapshot>;
}

interface AggregatedBreaker {
  state: BreakerState;
  failure_count: number;
  success_count: number;
  instances: { instance: string; state: BreakerState; failure_count: number; success_count: number }[];
}

const SEVERITY: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * Operations, for admins. Breakers live in each process, so their state is gathered from
 * every enrollment replica (a fanout with a short reply window) plus this gateway's own;
 * a breaker reads as its worst state across replicas, with each replica listed.
 */
export function opsRoutes(deps: {
  rpc: RpcClient;
  /** Reads depths and consumer counts from RabbitMQ itself. */
  queues: QueueInspector;
  breakers: CircuitBreakers;
  idempotency: IdempotencyStore;
  auth: ReturnType<typeof authenticate>;
  instance: string;
  gatherWindowMs: number;
}): Router {
  const { rpc } = deps;
  const router = Router();
  router.use('/api/ops', deps.auth, requireRole('admin'));

  const gatherBreakers = async (requestId: string): Promise<Record<string, AggregatedBreaker>> => {
    const { replies } = await rpc.gather(
      EnrollmentBroadcasts.exchange,
      ListBreakers,
      {},
      { requestId, windowMs: deps.gatherWindowMs },
    );
    const all: InstanceBreakers[] = [
      { instance: deps.instance, breakers: deps.breakers.snapshot() },
      ...replies.sort((a, b) => a.instance.localeCompare(b.instance)),
    ];
    const merged: Record<string, AggregatedBreaker> = {};
    for (const { instance, breakers } of all) {
      for (const [name, b] of Object.entries(breakers)) {
        const entry = (merged[name] ??= { state: 'closed', failure_count: 0, success_count: 0, instances: [] });
        if (SEVERITY[b.state] > SEVERITY[entry.state]) entry.state = b.state;
        entry.failure_count += b.failure_count;
        entry.success_count += b.success_count;
        entry.instances.push({ instance, ...b });
      }
    }
    return merged;
  };

  const breakerReport = async (requestId: string) => {
    const circuit_breakers = await gatherBreakers(requestId);
    return { circuit_breakers, ...healthOf(circuit_breakers) };
  };

  router.get('/api/ops/circuit-breakers', async (req, res) => {
    res.json(await breakerReport(req.requestId));
  });

  router.post('/api/ops/circuit-breakers/:name/reset', async (req, res) => {
    const name = pathParam(BreakerName, req.params.name, 'CIRCUIT_BREAKER_NOT_FOUND', 'Circuit breaker');
    let known = false;
    if (deps.breakers.has(name)) {
      deps.breakers.reset(name);
      known = true;
    }
    const { replies } = await rpc.gather(
      EnrollmentBroadcasts.exchange,
      ResetBreaker,
      { name },
      { requestId: req.requestId, windowMs: deps.gatherWindowMs },
    );
    if (!known && replies.length === 0) throw new CircuitBreakerNotFoundError(name);
    const report = await gatherBreakers(req.requestId);
    res.json({ name, reset_instances: (known ? 1 : 0) + replies.length, ...report[name] });
  });

  router.get('/api/ops/stats', async (req, res) => {
    const [service, breakers, gatewayKeys, queues] = await Promise.all([
      rpc.call(GetEnrollmentStats, {}, { requestId: req.requestId }),
      breakerReport(req.requestId),
      deps.idempotency.census().catch(() => undefined),
      deps.queues.depths(OBSERVED_QUEUES),
    ]);
    res.json({
      queues,
      tasks: service.requests,
      outbox: service.outbox,
      circuit_breakers: breakers.circuit_breakers,
      overall_health: breakers.overall_health,
      degraded_services: breakers.degraded_services,
      sagas: service.sagas,
      idempotency: {
        entries: service.idempotency.entries + (gatewayKeys?.entries ?? 0),
        enrollment: service.idempotency,
        gateway: gatewayKeys ?? { unavailable: true },
      },
    });
  });

  router.get('/api/ops/sagas', async (req, res) => {
    const { filters, page } = parseListQuery(SagasQuery, req.query);
    sendPage(req, res, await rpc.call(ListSagas, { ...filters, page }, { requestId: req.requestId }));
  });

  router.delete('/api/ops/sagas', async (req, res) => {
    const query = parseInput(PurgeSagasQuery, req.query);
    res.json(await rpc.call(PurgeSagas, query, { requestId: req.requestId }));
  });

  router.delete('/api/ops/idempotency/:key', async (req, res) => {
    const key = pathParam(IdempotencyEntryKey, req.params.key, 'IDEMPOTENCY_KEY_NOT_FOUND', 'Idempotency entry');
    // Keys name their owner: `booking:<user>:<key>` lives in the gateway's Redis,
    // `enrollment:…` in enrollment's database (which need not be running for the other).
    const [inEnrollment, inGateway] = await Promise.all([
      key.startsWith('enrollment:')
        ? rpc.call(ForgetIdempotencyKey, { key }, { requestId: req.requestId })
        : { forgotten: false },
      deps.idempotency.forget(key),
    ]);
    if (!inEnrollment.forgotten && !inGateway) throw new IdempotencyKeyNotFoundError(key);
    res.json({ key, forgotten: true });
  });

  return router;
}
