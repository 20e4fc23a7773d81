import { ConfirmedPublisher, JobConsumer, QueueInspector, RpcServer, assertJobTopology, type AmqpConnectionManager, type RpcClient } from '@cupo/amqp';
import { CircuitBreakers, guardedByBreaker } from '@cupo/circuit-breakers';
import { QueryRequestedMessage, WorkerJobs } from '@cupo/contracts';
import { withDatabase, type Sql } from '@cupo/database';
import { DependencyUnavailableError } from '@cupo/errors';
import { OutboxRelay } from '@cupo/outbox';
import { PeriodicTask, type Logger } from '@cupo/service-kit';
import { Histogram, type Registry } from 'prom-client';
import { RpcReportSources } from './adapters/amqp/report-sources.js';
import { rpcHandlers } from './adapters/amqp/rpc-handlers.js';
import { PostgresQueryStore } from './adapters/postgres/query-store.js';
import type { QueryMetrics } from './app/ports.js';
import { failQuery, runQuery } from './app/run-query.js';
import type { WorkerConfig } from './config.js';

export interface WorkerDeps {
  sql: Sql;
  amqp: AmqpConnectionManager;
  rpc: RpcClient;
  registry: Registry;
  logger: Logger;
  config: WorkerConfig;
}

const failureOf = (dependency: string) => (error: Error) =>
  error instanceof DependencyUnavailableError && String(error.details?.dependency ?? '').startsWith(dependency);

function queryMetrics(registry: Registry): QueryMetrics {
  const latency = new Histogram({
    name: 'worker_query_duration_seconds',
    help: 'Time from a query being recorded to its answer, by type and status',
    labelNames: ['type', 'status'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  return { finished: (type, status, seconds) => latency.observe({ type, status }, seconds) };
}

/** Builds the worker from its dependencies; main.ts starts and stops what this returns. */
export function createWorker(deps: WorkerDeps) {
  const { config, logger, registry } = deps;
  const breakers = new CircuitBreakers(registry);
  breakers.add('postgres', {
    dependency: 'PostgreSQL',
    failureThreshold: config.DATABASE_CIRCUIT_FAILURE_THRESHOLD,
    openMs: config.DATABASE_CIRCUIT_RECOVERY_TIMEOUT * 1000,
    successThreshold: config.DATABASE_CIRCUIT_SUCCESS_THRESHOLD,
    isFailure: failureOf('PostgreSQL'),
  });
  breakers.add('publishing', {
    dependency: 'RabbitMQ publishing',
    failureThreshold: config.PUBLISH_CIRCUIT_FAILURE_THRESHOLD,
    openMs: config.PUBLISH_CIRCUIT_RECOVERY_TIMEOUT * 1000,
    successThreshold: config.PUBLISH_CIRCUIT_SUCCESS_THRESHOLD,
    isFailure: failureOf('RabbitMQ'),
  });
  const store = guardedByBreaker(new PostgresQueryStore(deps.sql), breakers, 'postgres', withDatabase);
  const topology = { exchange: WorkerJobs.exchange, queue: WorkerJobs.queryQueue, routingKey: WorkerJobs.queryRequested };
  new QueueInspector(deps.amqp).registerGauges(registry, [topology.queue, `${topology.queue}.retry`, `${topology.queue}.dead`]);

  const publisher = new ConfirmedPublisher(deps.amqp, { name: 'outbox', setup: (channel) => assertJobTopology(channel, topology) });
  const relay = new OutboxRelay(deps.sql, publisher, breakers, {
    batchSize: config.OUTBOX_BATCH_SIZE,
    pollMs: config.OUTBOX_POLL_MS,
    logger,
    registry,
  });
  const rpcServer = new RpcServer(deps.amqp, {
    queue: 'worker.rpc',
    handlers: rpcHandlers({ store, outboxWritten: () => relay.kick() }),
    prefetch: config.RPC_PREFETCH,
    logger,
    registry,
  });
  const runDeps = {
    store,
    sources: new RpcReportSources(deps.rpc),
    metrics: queryMetrics(registry),
    resultTtlSeconds: config.QUERY_RESULT_TTL_SECONDS,
  };
  const queries = new JobConsumer(deps.amqp, {
    topology,
    schema: QueryRequestedMessage,
    prefetch: config.QUERY_PREFETCH,
    maxAttempts: config.JOB_MAX_ATTEMPTS,
    backoff: { initialMs: config.JOB_RETRY_INITIAL_MS, maxMs: config.JOB_RETRY_MAX_MS },
    handle: (message, context) => runQuery(runDeps, message.query_id, context.requestId),
    onGiveUp: (message, error, context) =>
      failQuery(runDeps, message.query_id, context.attempt, error instanceof Error ? error.message : String(error)),
    logger,
    registry,
  });
  const maintenance = new PeriodicTask(
    'purge expired queries, re-announce lost ones',
    config.MAINTENANCE_INTERVAL_MS,
    async () => {
      const purged = await store.purgeExpired();
      const requeued = await store.requeueStale(config.STALE_QUERY_MS);
      if (requeued > 0) relay.kick();
      if (purged + requeued > 0) logger.info({ purged, requeued }, 'query maintenance');
    },
    logger,
  );
  return { breakers, publisher, relay, rpcServer, queries, maintenance };
}
