import { Router } from 'express';
import { deadQueueOf, retryQueueOf, type QueueInspector, type RpcClient } from '@cupo/amqp';
import {
  CircuitBreakerNotFoundError,
  healthOf,
  mergeBreakerReports,
  type CircuitBreakers,
  type InstanceReport,
} from '@cupo/circuit-breakers';
import {
  BreakerBroadcasts,
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
  ResetBreakerQuery,
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

/**
 * Operations, for admins. Breakers live in each process, so their state is gathered from
 * every process of every service (a fanout with a short reply window; this gateway adds its
 * own if its answer is not in); a breaker reads as its worst state across processes, with
 * each process listed by service and instance.
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

  const own = (): InstanceReport => ({ service: 'gateway', instance: deps.instance, breakers: deps.breakers.snapshot() });
  const sameProcess = (a: { service: string; instance: string }, b: { service: string; instance: string }) =>
    a.service === b.service && a.instance === b.instance;

  const gatherBreakers = async (requestId: string) => {
    const { replies } = await rpc.gather(BreakerBroadcasts.exchange, ListBreakers, {}, { requestId, windowMs: deps.gatherWindowMs });
    const self = own();
    // Our own answer may miss the window on a busy machine: our breakers are right here.
    return mergeBreakerReports([self, ...replies.filter((r) => !sameProcess(r, self))]);
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
    const only = parseInput(ResetBreakerQuery, req.query);
    const self = own();
    const resets: { service: string; instance: string; state: BreakerState }[] = [];
    if (deps.breakers.has(name) && (only.service ?? 'gateway') === 'gateway' && (only.instance ?? deps.instance) === deps.instance) {
      deps.breakers.reset(name);
      resets.push({ service: 'gateway', instance: deps.instance, state: deps.breakers.stateOf(name) });
    }
    const { replies } = await rpc.gather(
      BreakerBroadcasts.exchange,
      ResetBreaker,
      { name, ...only },
      { requestId: req.requestId, windowMs: deps.gatherWindowMs },
    );
    // This gateway answers its own broadcast too: counted once.
    for (const r of replies) if (!sameProcess(r, self)) resets.push({ service: r.service, instance: r.instance, state: r.state });
    if (resets.length === 0) throw new CircuitBreakerNotFoundError(name);
    resets.sort((a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance));
    const report = await gatherBreakers(req.requestId);
    res.json({ name, reset_instances: resets.length, resets, ...report[name] });
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
    const { purged, complete } = await rpc.call(PurgeSagas, query, { requestId: req.requestId });
    res.json({ purged, complete: complete ?? true });
  });

  router.delete('/api/ops/idempotency/:key', async (req, res) => {
    const key = pathParam(IdempotencyEntryKey, req.params.key, 'IDEMPOTENCY_KEY_NOT_FOUND', 'Idempotency entry');
    // Keys name their owner: `booking:<user>:<key>` lives in the gateway's Redis,
    // `enrollment:…` in enrollment's database (which need not be running for the other).
    const [inEnrollment, inGateway] = await Promise.all([
      key.startsWith('enrollment:') ? rpc.call(ForgetIdempotencyKey, { key }, { requestId: req.requestId }) : { forgotten: false },
      deps.idempotency.forget(key),
    ]);
    if (!inEnrollment.forgotten && !inGateway) throw new IdempotencyKeyNotFoundError(key);
    res.json({ key, forgotten: true });
  });

  return router;
}
