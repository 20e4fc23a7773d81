import { ConfirmedPublisher, JobConsumer, QueueInspector, RpcServer, deadQueueOf, retryQueueOf, assertJobTopology, type AmqpConnectionManager, type RpcClient } from '@cupo/amqp';
import { breakerBroadcastServer, guardedByBreaker, storeAndOutboxBreakers } from '@cupo/circuit-breakers';
import { QueryRequestedMessage, WorkerJobs } from '@cupo/contracts';
import { withDatabase, type Sql } from '@cupo/database';
import { OutboxRelay } from '@cupo/outbox';
import { PeriodicTask, type Logger } from '@cupo/service-kit';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import { OnboardingJobs, OnboardingMessage } from '@cupo/contracts';
import { GraphDirectory } from './adapters/providers/graph-directory.js';
import { MoodleLms } from './adapters/providers/moodle-lms.js';
import { HttpStudentSource } from './adapters/providers/sis-source.js';
import { SmtpMailer } from './adapters/providers/smtp-mailer.js';
import { addProviderBreakersTo, guardedDirectory, guardedLms, guardedMailer, guardedSource } from './adapters/providers/provider-breakers.js';
import { PostgresOnboardingStore } from './adapters/postgres/onboarding-store.js';
import { PostgresOnboardingProgress } from './adapters/postgres/onboarding-progress.js';
import { progressHandlers } from './adapters/amqp/progress-handlers.js';
import { RedisProviderRateLimiter } from './adapters/redis/provider-rate-limiter.js';
import type { OnboardingMetrics } from './app/onboarding/ports.js';
import { runBatch } from './app/onboarding/run-batch.js';
import { runIngest } from './app/onboarding/run-ingest.js';
import { RpcReportSources } from './adapters/amqp/report-sources.js';
import { rpcHandlers } from './adapters/amqp/rpc-handlers.js';
import { PostgresQueryStore } from './adapters/postgres/query-store.js';
import type { QueryMetrics } from './app/ports.js';
import { expireQueries, failQuery, runQuery } from './app/run-query.js';
import type { WorkerConfig } from './config.js';

export interface WorkerDeps {
  /** This replica's name in the claims it takes (host and pid). */
  replicaId: string;
  sql: Sql;
  amqp: AmqpConnectionManager;
  rpc: RpcClient;
  redis: Redis;
  registry: Registry;
  logger: Logger;
  config: WorkerConfig;
  /** This process's name as ops lists its breakers (runService's); the replica id if not given. */
  instance?: string;
}


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

function onboardingMetrics(registry: Registry): OnboardingMetrics {
  const calls = new Counter({ name: 'onboarding_provider_calls_total', help: 'Provider requests by provider and outcome (ok, throttled, unavailable, failed)', labelNames: ['provider', 'outcome'], registers: [registry] });
  const wait = new Histogram({ name: 'onboarding_limiter_wait_seconds', help: 'Time a provider request waited for its rate-limit slot', labelNames: ['provider'], buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [registry] });
  const workflows = new Counter({ name: 'onboarding_workflows_total', help: 'Student workflows by outcome', labelNames: ['outcome'], registers: [registry] });
  const batches = new Histogram({ name: 'onboarding_batch_duration_seconds', help: 'Time to run one batch of workflows', buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600], registers: [registry] });
  return {
    providerCall: (provider, outcome) => calls.inc({ provider, outcome }),
    limiterWait: (provider, ms) => wait.observe({ provider }, ms / 1000),
    workflow: (outcome) => workflows.inc({ outcome }),
    batch: (seconds) => batches.observe(seconds),
  };
}

/** Builds the worker from its dependencies; main.ts starts and stops what this returns. */
export function createWorker(deps: WorkerDeps) {
  const { config, logger, registry } = deps;
  // postgres and publishing, and one per outside provider: all listed and reset through ops.
  const breakers = addProviderBreakersTo(storeAndOutboxBreakers(registry, config), config);
  const broadcasts = breakerBroadcastServer(deps.amqp, { service: 'worker', instance: deps.instance ?? deps.replicaId, breakers, logger, registry });
  const store = guardedByBreaker(new PostgresQueryStore(deps.sql), breakers, 'postgres', withDatabase);
  const onboarding = guardedByBreaker(new PostgresOnboardingStore(deps.sql, config.STUCK_TASK_SECONDS), breakers, 'postgres', withDatabase);
  // The configured limits beside the calls, so a dashboard can draw one against the other.
  new Gauge({
    name: 'onboarding_rate_limit_per_minute',
    help: 'Each provider’s configured call limit per minute',
    labelNames: ['provider'],
    registers: [registry],
    async collect() {
      try {
        const c = await onboarding.getConfig();
        this.set({ provider: 'directory' }, c.rate_limit_directory_per_min);
        this.set({ provider: 'lms' }, c.rate_limit_lms_per_min);
        this.set({ provider: 'email' }, c.rate_limit_email_per_min);
      } catch {
        // database away: keep the last figures
      }
    },
  });
  const topology = { exchange: WorkerJobs.exchange, queue: WorkerJobs.queryQueue, routingKey: WorkerJobs.queryRequested, deliveryLimit: config.JOB_DELIVERY_LIMIT };
  const onboardingTopology = { exchange: OnboardingJobs.exchange, queue: OnboardingJobs.queue, routingKey: OnboardingJobs.routingKey, deliveryLimit: config.JOB_DELIVERY_LIMIT };

  const publisher = new ConfirmedPublisher(deps.amqp, {
    name: 'outbox',
    logger,
    setup: async (channel) => {
      await assertJobTopology(channel, topology, deps.amqp);
      await assertJobTopology(channel, onboardingTopology, deps.amqp);
    },
  });
  const relay = new OutboxRelay(deps.sql, publisher, breakers, {
    batchSize: config.OUTBOX_BATCH_SIZE,
    pollMs: config.OUTBOX_POLL_MS,
    logger,
    registry,
  });
  const rpcServer = new RpcServer(deps.amqp, {
    queue: 'worker.rpc',
    handlers: [
      ...rpcHandlers({ store, onboarding, outboxWritten: () => relay.kick(), queryDeadlineMs: config.QUERY_DEADLINE_MS }),
      ...progressHandlers(
        guardedByBreaker(new PostgresOnboardingProgress(deps.sql, config.STUCK_TASK_SECONDS), breakers, 'postgres', withDatabase),
      ),
    ],
    prefetch: config.RPC_PREFETCH,
    logger,
    registry,
  });
  const runDeps = {
    store,
    sources: new RpcReportSources(deps.rpc),
    metrics: queryMetrics(registry),
    resultTtlSeconds: config.QUERY_RESULT_TTL_SECONDS,
    sourceTimeoutMs: config.SOURCE_TIMEOUT_MS,
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
  const mailer = new SmtpMailer({ url: config.SMTP_URL, from: config.MAIL_FROM, timeoutMs: config.PROVIDER_TIMEOUT_MS });
  // Aborted at shutdown: every onboarding run hands back what it has not finished.
  const handBack = new AbortController();
  const batchDeps = {
    store: onboarding,
    directory: guardedDirectory(new GraphDirectory({
      baseUrl: config.GRAPH_URL,
      loginUrl: config.GRAPH_LOGIN_URL,
      tenantId: config.GRAPH_TENANT_ID,
      clientId: config.GRAPH_CLIENT_ID,
      clientSecret: config.GRAPH_CLIENT_SECRET,
      domain: config.GRAPH_USER_DOMAIN,
      licenseSkuId: config.GRAPH_LICENSE_SKU_ID,
      timeoutMs: config.PROVIDER_TIMEOUT_MS,
    }), breakers),
    lms: guardedLms(new MoodleLms({ baseUrl: config.MOODLE_URL, token: config.MOODLE_TOKEN, welcomeCourseId: config.MOODLE_WELCOME_COURSE_ID, timeoutMs: config.PROVIDER_TIMEOUT_MS }), breakers),
    mailer: guardedMailer(mailer, breakers),
    limiter: new RedisProviderRateLimiter(deps.redis, config.REDIS_KEY_PREFIX),
    metrics: onboardingMetrics(registry),
    logger,
    heartbeatMs: config.TASK_HEARTBEAT_MS,
    leaseMs: config.TASK_LEASE_MS,
    concurrency: config.WORKFLOW_CONCURRENCY,
    retry: { maxAttempts: config.WORKFLOW_MAX_ATTEMPTS, initialMs: config.WORKFLOW_RETRY_INITIAL_MS, maxMs: config.WORKFLOW_RETRY_MAX_MS },
    replicaId: deps.replicaId,
    shutdown: handBack.signal,
  };
  const source = guardedSource(new HttpStudentSource({ url: config.SIS_URL, timeoutMs: config.PROVIDER_TIMEOUT_MS }), breakers);
  const onboardingJobs = new JobConsumer(deps.amqp, {
    topology: onboardingTopology,
    schema: OnboardingMessage,
    prefetch: config.ONBOARDING_PREFETCH,
    maxAttempts: config.JOB_MAX_ATTEMPTS,
    backoff: { initialMs: config.JOB_RETRY_INITIAL_MS, maxMs: config.JOB_RETRY_MAX_MS },
    handle: (message) =>
      message.kind === 'ingest'
        ? runIngest({ store: onboarding, source, logger, leaseMs: config.TASK_LEASE_MS, replicaId: deps.replicaId }, message.task_id)
        : runBatch(batchDeps, message.task_id),
    onGiveUp: (message, error) => onboarding.fail(message.task_id, { error: error instanceof Error ? error.message : String(error) }),
    logger,
    registry,
  });
  new QueueInspector(deps.amqp).registerGauges(
    registry,
    [topology.queue, OnboardingJobs.queue].flatMap((queue) => [queue, retryQueueOf(queue), deadQueueOf(queue)]),
  );
  const reaper = new PeriodicTask(
    'reap stalled onboarding tasks',
    Math.max(1_000, Math.floor(config.REAPER_STALE_MS / 4)),
    async () => {
      const reaped = await onboarding.reapStale(config.REAPER_STALE_MS, config.REAPER_MAX_REQUEUES);
      if (reaped.requeued) relay.kick();
      if (reaped.requeued + reaped.failed > 0) logger.warn(reaped, 'stalled onboarding tasks reaped');
    },
    logger,
  );
  const maintenance = new PeriodicTask(
    'purge expired answers, end queries past their deadline, re-announce lost ones',
    config.MAINTENANCE_INTERVAL_MS,
    async () => {
      const purged = await store.purgeExpired();
      const expired = await expireQueries(runDeps);
      const requeued = await store.requeueStale(config.STALE_QUERY_MS);
      if (requeued > 0) relay.kick();
      if (purged + expired + requeued > 0) logger.info({ purged, expired, requeued }, 'query maintenance');
    },
    logger,
  );
  return {
    breakers,
    /** Answers ops' breaker broadcast (list and reset) for this process. */
    broadcasts,
    publisher,
    relay,
    rpcServer,
    queries,
    maintenance,
    onboardingJobs,
    reaper,
    mailer,
    /** Shutdown: onboarding runs finish the request in flight and hand the rest back. */
    handBackOnboarding: () => handBack.abort(),
  };
}
