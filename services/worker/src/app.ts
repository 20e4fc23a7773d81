import {
  ConfirmedPublisher,
  JobConsumer,
  QueueInspector,
  RpcServer,
  deadQueueOf,
  retryQueueOf,
  assertJobTopology,
  type AmqpConnectionManager,
  type RpcClient,
} from '@cupo/amqp';
import { breakerBroadcastServer, guardedByBreaker, storeAndOutboxBreakers } from '@cupo/circuit-breakers';
import { withDatabase, type Sql } from '@cupo/database';
import { OutboxRelay } from '@cupo/outbox';
import { PeriodicTask, type Logger } from '@cupo/service-kit';
import type { Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import { redisReady } from '@cupo/redis';
import { jobHandlers, type JobHandler } from './adapters/amqp/job-handlers.js';
import { onboardingMetrics, queryMetrics, rateLimitGauge } from './adapters/metrics.js';
import { GraphDirectory } from './adapters/providers/graph-directory.js';
import { MoodleLms } from './adapters/providers/moodle-lms.js';
import { HttpStudentSource } from './adapters/providers/sis-source.js';
import { SmtpMailer } from './adapters/providers/smtp-mailer.js';
import {
  addProviderBreakersTo,
  guardedDirectory,
  guardedLms,
  guardedMailer,
  guardedSource,
} from './adapters/providers/provider-breakers.js';
import { PostgresOnboardingStore } from './adapters/postgres/onboarding-store.js';
import { PostgresOnboardingProgress } from './adapters/postgres/onboarding-progress.js';
import { progressHandlers } from './adapters/amqp/progress-handlers.js';
import { RedisProviderRateLimiter } from './adapters/redis/provider-rate-limiter.js';
import { recordUnrecordedSends } from './app/onboarding/run-workflow.js';
import { fireDueIngest } from './app/onboarding/scheduled-ingest.js';
import { RpcReportSources } from './adapters/amqp/report-sources.js';
import { rpcHandlers } from './adapters/amqp/rpc-handlers.js';
import { PostgresQueryStore } from './adapters/postgres/query-store.js';
import { expireQueries } from './app/queries/run-query.js';
import type { WorkerConfig } from './config.js';

export interface WorkerDeps {
  /** This replica's name in the claims it takes (host and pid). */
  replicaId: string;
  /** This process's name as ops lists its breakers (runService's); the replica id if not given. */
  instance?: string;
  sql: Sql;
  amqp: AmqpConnectionManager;
  rpc: RpcClient;
  redis: Redis;
  registry: Registry;
  logger: Logger;
  config: WorkerConfig;
}

/** Builds the worker from its dependencies; main.ts starts and stops what this returns. */
export function createWorker(deps: WorkerDeps) {
  const { config, logger, registry } = deps;
  // postgres and publishing, and one per outside provider: all listed and reset through ops.
  const breakers = addProviderBreakersTo(storeAndOutboxBreakers(registry, config), config);
  const broadcasts = breakerBroadcastServer(deps.amqp, {
    service: 'worker',
    instance: deps.instance ?? deps.replicaId,
    breakers,
    logger,
    registry,
  });
  // The stores wake the outbox relay (built below) after each commit that wrote to the outbox.
  const outbox = { kick: () => relay.kick() };
  const store = guardedByBreaker(new PostgresQueryStore(deps.sql, outbox), breakers, 'postgres', withDatabase);
  const onboarding = guardedByBreaker(
    new PostgresOnboardingStore(deps.sql, config.STUCK_TASK_SECONDS, outbox),
    breakers,
    'postgres',
    withDatabase,
  );
  rateLimitGauge(registry, () => onboarding.getConfig());
  const runDeps = {
    store,
    sources: new RpcReportSources(deps.rpc),
    metrics: queryMetrics(registry),
    resultTtlSeconds: config.QUERY_RESULT_TTL_SECONDS,
    sourceTimeoutMs: config.SOURCE_TIMEOUT_MS,
  };
  const mailer = new SmtpMailer({ url: config.SMTP_URL, from: config.MAIL_FROM, timeoutMs: config.PROVIDER_TIMEOUT_MS });
  // Aborted at shutdown: every onboarding run hands back what it has not finished.
  const handBack = new AbortController();
  const batchDeps = {
    store: onboarding,
    directory: guardedDirectory(
      new GraphDirectory({
        baseUrl: config.GRAPH_URL,
        loginUrl: config.GRAPH_LOGIN_URL,
        tenantId: config.GRAPH_TENANT_ID,
        clientId: config.GRAPH_CLIENT_ID,
        clientSecret: config.GRAPH_CLIENT_SECRET,
        domain: config.GRAPH_USER_DOMAIN,
        licenseSkuId: config.GRAPH_LICENSE_SKU_ID,
        timeoutMs: config.PROVIDER_TIMEOUT_MS,
      }),
      breakers,
    ),
    lms: guardedLms(
      new MoodleLms({
        baseUrl: config.MOODLE_URL,
        token: config.MOODLE_TOKEN,
        welcomeCourseId: config.MOODLE_WELCOME_COURSE_ID,
        timeoutMs: config.PROVIDER_TIMEOUT_MS,
      }),
      breakers,
    ),
    mailer: guardedMailer(mailer, breakers),
    limiter: new RedisProviderRateLimiter(deps.redis, config.REDIS_KEY_PREFIX),
    metrics: onboardingMetrics(registry),
    logger,
    heartbeatMs: config.TASK_HEARTBEAT_MS,
    leaseMs: config.TASK_LEASE_MS,
    concurrency: config.WORKFLOW_CONCURRENCY,
    retry: { maxAttempts: config.WORKFLOW_MAX_ATTEMPTS, initialMs: config.WORKFLOW_RETRY_INITIAL_MS, maxMs: config.WORKFLOW_RETRY_MAX_MS },
    // One per process, shared by every run: a sent e-mail outlives the run that sent it.
    unrecorded: new Map<string, string>(),
    replicaId: deps.replicaId,
    shutdown: handBack.signal,
  };
  const source = guardedSource(new HttpStudentSource({ url: config.SIS_URL, timeoutMs: config.PROVIDER_TIMEOUT_MS }), breakers);
  const handlers = jobHandlers({ queries: runDeps, onboarding, batch: batchDeps, source, logger, replicaId: deps.replicaId, config });
  const jobs = [handlers.queries, handlers.onboarding] as const;
  const consumer = <T>(handler: JobHandler<T>) =>
    new JobConsumer<T>(deps.amqp, {
      ...handler,
      maxAttempts: config.JOB_MAX_ATTEMPTS,
      backoff: { initialMs: config.JOB_RETRY_INITIAL_MS, maxMs: config.JOB_RETRY_MAX_MS },
      logger,
      registry,
    });
  const queries = consumer(handlers.queries);
  const onboardingJobs = consumer(handlers.onboarding);

  const publisher = new ConfirmedPublisher(deps.amqp, {
    name: 'outbox',
    logger,
    setup: async (channel) => {
      for (const handler of jobs) await assertJobTopology(channel, handler.topology, deps.amqp);
    },
  });
  const relay = new OutboxRelay(deps.sql, publisher, breakers, {
    batchSize: config.OUTBOX_BATCH_SIZE,
    pollMs: config.OUTBOX_POLL_MS,
    logger,
    registry,
  });
  const progress = new PostgresOnboardingProgress(deps.sql, config.STUCK_TASK_SECONDS);
  const rpcServer = new RpcServer(deps.amqp, {
    queue: 'worker.rpc',
    handlers: [
      ...rpcHandlers({ store, onboarding, queryDeadlineMs: config.QUERY_DEADLINE_MS }),
      ...progressHandlers(guardedByBreaker(progress, breakers, 'postgres', withDatabase)),
    ],
    prefetch: config.RPC_PREFETCH,
    logger,
    registry,
  });
  new QueueInspector(deps.amqp).registerGauges(
    registry,
    jobs.map((handler) => handler.topology.queue).flatMap((queue) => [queue, retryQueueOf(queue), deadQueueOf(queue)]),
  );
  const reaper = new PeriodicTask(
    {
      name: 'reap stalled onboarding tasks',
      intervalMs: Math.max(1_000, Math.floor(config.REAPER_STALE_MS / 4)),
      metrics: { registry, task: 'reaper' },
    },
    async () => {
      const reaped = await onboarding.reapStale(config.REAPER_STALE_MS, config.REAPER_MAX_REQUEUES);
      if (reaped.requeued + reaped.failed > 0) logger.warn(reaped, 'stalled onboarding tasks reaped');
      // Keeps the task-count deltas behind GET /api/admin/tasks/summary short, whether or not anyone asks.
      await progress.foldCounts();
    },
    logger,
  );
  // Every replica looks; the database lets exactly one of them fire each slot.
  const schedule = new PeriodicTask(
    {
      name: 'fire the scheduled ingest when a slot is due',
      intervalMs: config.INGEST_SCHEDULE_TICK_MS,
      metrics: { registry, task: 'ingest_schedule' },
    },
    async () => {
      // A look later than this after the last slot fired catches up only the latest slot.
      await fireDueIngest({
        store: onboarding,
        logger,
        replicaId: deps.replicaId,
        catchUpMs: Math.max(10_000, 10 * config.INGEST_SCHEDULE_TICK_MS),
      });
    },
    logger,
  );
  // A sent e-mail whose record failed is recorded as soon as the database is back, before the
  // claim on it runs out and another replica could send it again.
  const sendRecorder = new PeriodicTask(
    { name: 'record sent e-mails the database missed', intervalMs: config.TASK_HEARTBEAT_MS, metrics: { registry, task: 'send_recorder' } },
    async () => {
      const recorded = await recordUnrecordedSends(batchDeps);
      if (recorded > 0) logger.info({ recorded, left: batchDeps.unrecorded.size }, 'sent e-mails recorded late');
    },
    logger,
  );
  const maintenance = new PeriodicTask(
    {
      name: 'purge expired answers, end queries past their deadline, re-announce lost ones',
      intervalMs: config.MAINTENANCE_INTERVAL_MS,
      metrics: { registry, task: 'query_maintenance' },
    },
    async () => {
      const purged = await store.purgeExpired();
      const expired = await expireQueries(runDeps);
      const requeued = await store.requeueStale(config.STALE_QUERY_MS);
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
    schedule,
    mailer,
    /** Start-up, in order: the outbox can publish, the clients are up, then work is taken. */
    async start() {
      await publisher.ready();
      relay.start();
      await deps.rpc.ready();
      await redisReady(deps.redis);
      await queries.start();
      await onboardingJobs.start();
      await rpcServer.start();
      await broadcasts.start();
      maintenance.start();
      reaper.start();
      schedule.start();
      sendRecorder.start();
    },
    /**
     * Every source of work stops at once (each stop() first cancels its consumer); then queries
     * in hand finish and onboarding runs finish the provider request in flight and hand the rest
     * back (claims released, message re-queued for another replica). Whatever is still unacked
     * when `ms` ends goes back to the queue as the channels close.
     */
    async stopTakingWork(ms: number) {
      const stopped = Promise.all([
        rpcServer.stop(ms),
        broadcasts.stop(ms),
        queries.stop(ms),
        onboardingJobs.stop(ms),
        maintenance.stop(),
        reaper.stop(),
        schedule.stop(),
      ]);
      handBack.abort(); // onboarding runs finish the request in flight and hand the rest back
      await stopped;
      // One last try at what the runs sent and could not record; what is left is the one
      // window README's onboarding section describes (sent again, same Message-ID).
      await sendRecorder.stop();
      await recordUnrecordedSends(batchDeps);
      if (batchDeps.unrecorded.size > 0)
        logger.warn({ students: [...batchDeps.unrecorded.keys()] }, 'stopping with sent e-mails not recorded');
    },
  };
}
