import {
  ConfirmedPublisher,
  JobConsumer,
  QueueInspector,
  deadQueueOf,
  retryQueueOf,
  RpcServer,
  assertJobTopology,
  type AmqpConnectionManager,
} from '@cupo/amqp';
import { guardedByBreaker, storeAndOutboxBreakers } from '@cupo/circuit-breakers';
import { OutboxRelay } from '@cupo/outbox';
import { EnrollmentBroadcasts, EnrollmentJobs, EnrollmentRequestedMessage } from '@cupo/contracts';
import { withDatabase, type Sql } from '@cupo/database';
import { PeriodicTask, type Logger } from '@cupo/service-kit';
import type { Registry } from 'prom-client';
import { broadcastHandlers, rpcHandlers } from './adapters/amqp/rpc-handlers.js';
import { enrollmentMetrics, registerOpenRequestGauges } from './adapters/metrics.js';
import { PostgresEnrollmentStore } from './adapters/postgres/enrollment-store.js';
import { abandonEnrollmentRequest, processEnrollmentRequest } from './app/process-enrollment-request.js';
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

  const store = guardedByBreaker(new PostgresEnrollmentStore(deps.sql, config.DERIVED_KEY_GRACE_SECONDS), breakers, 'postgres', withDatabase);
  const metrics = enrollmentMetrics(registry);
  registerOpenRequestGauges(registry, store);
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
  const rpc = new RpcServer(deps.amqp, {
    queue: 'enrollment.rpc',
    handlers: rpcHandlers({
      store,
      metrics,
      keyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
      outboxWritten: () => relay.kick(),
    }),
    prefetch: config.RPC_PREFETCH,
    logger,
    registry,
  });
  const broadcasts = new RpcServer(deps.amqp, {
    queue: 'enrollment.ops',
    broadcastExchange: EnrollmentBroadcasts.exchange,
    handlers: broadcastHandlers(breakers, deps.instance),
    prefetch: 4,
    logger,
    registry,
  });

  const processDeps = { store, metrics };
  const consumer = new JobConsumer(deps.amqp, {
    topology,
    schema: EnrollmentRequestedMessage,
    prefetch: config.JOB_PREFETCH,
    maxAttempts: config.JOB_MAX_ATTEMPTS,
    backoff: { initialMs: config.JOB_RETRY_INITIAL_MS, maxMs: config.JOB_RETRY_MAX_MS },
    handle: (message) => processEnrollmentRequest(processDeps, message.request_id),
    onGiveUp: (message, error, context) =>
      abandonEnrollmentRequest(
        processDeps,
        message.request_id,
        context.attempt,
        error instanceof Error ? error.message : String(error),
      ),
    logger,
    registry,
  });

  const recovery = new PeriodicTask(
    'recover stalled requests',
    config.RECOVERY_INTERVAL_MS,
    () =>
      recoverStalledRequests(
        store,
        { staleMs: config.STALE_REQUEST_MS, batch: 200, outboxWritten: () => relay.kick() },
        logger,
      ),
    logger,
  );

  const sagaPurge = sagaRetentionTask(deps.sql, registry, config, logger);

  return { breakers, rpc, broadcasts, consumer, publisher, relay, recovery, sagaPurge };
}
