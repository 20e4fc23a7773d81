import {
  ConfirmedPublisher,
  QueueInspector,
  deadQueueOf,
  retryQueueOf,
  RpcServer,
  assertJobTopology,
  type AmqpConnectionManager,
} from '@cupo/amqp';
import { breakerBroadcastServer, guardedByBreaker, storeAndOutboxBreakers } from '@cupo/circuit-breakers';
import { OutboxRelay } from '@cupo/outbox';
import { EnrollmentJobs } from '@cupo/contracts';
import { withDatabase, type Sql } from '@cupo/database';
import { PeriodicTask, type Logger } from '@cupo/service-kit';
import type { Registry } from 'prom-client';
import { jobHandlers } from './adapters/amqp/job-handlers.js';
import { rpcHandlers } from './adapters/amqp/rpc-handlers.js';
import { enrollmentMetrics, registerOpenRequestGauges } from './adapters/metrics.js';
import { PostgresCatalogStore } from './adapters/postgres/catalog-store.js';
import { PostgresOpsStore } from './adapters/postgres/ops-store.js';
import { PostgresSagaStore } from './adapters/postgres/saga-store.js';
import { recoverStalledRequests } from './app/recover-stalled-requests.js';
import { sagaRetentionTask } from './saga-retention.js';
import type { EnrollmentConfig } from './config.js';

export interface EnrollmentServiceDeps {
  sql: Sql;
  amqp: AmqpConnectionManager;
  registry: Registry;
  logger: Logger;
  config: EnrollmentConfig;
  /** This replica's name, as ops reports its breakers. */
  instance: string;
}

/** Builds the service from its dependencies; main.ts starts and stops what this returns. */
export function createEnrollmentService(deps: EnrollmentServiceDeps) {
  const { config, logger, registry } = deps;
  const breakers = storeAndOutboxBreakers(registry, config);

  const guarded = <T extends object>(store: T) => guardedByBreaker(store, breakers, 'postgres', withDatabase);
  const metrics = enrollmentMetrics(registry);
  const jobQueue = EnrollmentJobs.queue;
  new QueueInspector(deps.amqp).registerGauges(registry, [jobQueue, retryQueueOf(jobQueue), deadQueueOf(jobQueue)]);

  const topology = {
    exchange: EnrollmentJobs.exchange,
    queue: EnrollmentJobs.queue,
    routingKey: EnrollmentJobs.requested,
    deliveryLimit: config.JOB_DELIVERY_LIMIT,
  };
  // The relay declares what it publishes to, so a message written before any consumer ever
  // started still has its queue to land in.
  const publisher = new ConfirmedPublisher(deps.amqp, {
    name: 'outbox',
    logger,
    setup: (channel) => assertJobTopology(channel, topology, deps.amqp),
  });
  const relay = new OutboxRelay(deps.sql, publisher, breakers, {
    batchSize: config.OUTBOX_BATCH_SIZE,
    pollMs: config.OUTBOX_POLL_MS,
    logger,
    registry,
  });
  // The saga store wakes the relay after each commit that wrote to the outbox.
  const sagas = guarded(new PostgresSagaStore(deps.sql, relay, config.DERIVED_KEY_GRACE_SECONDS));
  const catalog = guarded(new PostgresCatalogStore(deps.sql));
  const ops = guarded(new PostgresOpsStore(deps.sql));
  registerOpenRequestGauges(registry, ops);

  const rpc = new RpcServer(deps.amqp, {
    queue: 'enrollment.rpc',
    handlers: rpcHandlers({ sagas, catalog, ops, metrics, keyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS }),
    prefetch: config.RPC_PREFETCH,
    logger,
    registry,
  });
  // Answers the ops broadcast with this replica's breakers, like every other service.
  const broadcasts = breakerBroadcastServer(deps.amqp, { service: 'enrollment', instance: deps.instance, breakers, logger, registry });

  const { requests: consumer } = jobHandlers({
    amqp: deps.amqp,
    topology,
    sagas,
    metrics,
    prefetch: config.JOB_PREFETCH,
    maxAttempts: config.JOB_MAX_ATTEMPTS,
    backoff: { initialMs: config.JOB_RETRY_INITIAL_MS, maxMs: config.JOB_RETRY_MAX_MS },
    logger,
    registry,
  });

  const recovery = new PeriodicTask(
    { name: 'recover stalled requests', intervalMs: config.RECOVERY_INTERVAL_MS, metrics: { registry, task: 'recovery' } },
    async () => {
      await recoverStalledRequests({ sagas, ops }, { staleMs: config.STALE_REQUEST_MS, batch: 200 }, logger);
      // Keeps the status deltas behind GET /api/ops/stats short, whether or not anyone asks.
      await ops.foldCounts();
    },
    logger,
  );

  const sagaPurge = sagaRetentionTask(deps.sql, registry, config, logger);

  return { breakers, rpc, broadcasts, consumer, publisher, relay, recovery, sagaPurge };
}
