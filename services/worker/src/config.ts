import { z } from 'zod';
import { ProviderBreakerEnv, StoreAndOutboxBreakerEnv } from '@cupo/circuit-breakers';
import { LOCAL_SERVERS, env, parseConfig, refuseDevelopmentDefaults, serviceEnv } from '@cupo/service-kit';

/**
 * Development defaults: the local servers and the providers' stand-ins that `make run` and the
 * tests use. With NODE_ENV=production (the image's) each must be set to something else: a
 * worker that quietly sent students' accounts to a stand-in's secret or mail to a local SMTP
 * would look healthy and do nothing.
 */
export const DEVELOPMENT_DEFAULTS = {
  ...LOCAL_SERVERS.backend('cupo_worker'),
  REDIS_URL: LOCAL_SERVERS.REDIS_URL,
  SIS_URL: 'http://127.0.0.1:9503',
  GRAPH_URL: 'http://127.0.0.1:9501',
  GRAPH_LOGIN_URL: 'http://127.0.0.1:9501',
  GRAPH_CLIENT_SECRET: 'dev-graph-secret',
  MOODLE_URL: 'http://127.0.0.1:9502',
  MOODLE_TOKEN: 'dev-moodle-token',
  SMTP_URL: 'smtp://127.0.0.1:2525',
} as const;
const DEV = DEVELOPMENT_DEFAULTS;

const Schema = z
  .object({
    ...serviceEnv.backend(DEV, { opsPort: 9401, poolMax: 6, rpcPrefetch: 32 }),
    /** Queries one replica computes at once. */
    QUERY_PREFETCH: env.positiveInt(8),
    ...serviceEnv.jobs(),
    /** How long an owner (inventory, enrollment) may take to answer a report's RPC. */
    SOURCE_TIMEOUT_MS: env.positiveInt(10_000),
    /** Answered queries are kept this long, then purged. */
    QUERY_RESULT_TTL_SECONDS: env.positiveInt(86_400),
    /** A query not answered this long after it was recorded ends `failed` (QUERY_DEADLINE_EXCEEDED). */
    QUERY_DEADLINE_MS: env.positiveInt(120_000),
    /** A pending query whose message went out this long ago is announced again (at most once per this interval). */
    STALE_QUERY_MS: env.positiveInt(60_000),
    MAINTENANCE_INTERVAL_MS: env.positiveInt(10_000),
    ...serviceEnv.outbox(),
    ...StoreAndOutboxBreakerEnv.shape,
    ...ProviderBreakerEnv.shape,
    // Onboarding.
    ...serviceEnv.redis(DEV.REDIS_URL),
    ONBOARDING_PREFETCH: env.positiveInt(4),
    /** Workflows of one batch run at once. */
    WORKFLOW_CONCURRENCY: env.positiveInt(4),
    STUCK_TASK_SECONDS: env.positiveInt(3_600),
    /** How often a run renews its claims. */
    TASK_HEARTBEAT_MS: env.positiveInt(5_000),
    /** How long a claim on a task (or an e-mail) lasts unless renewed: a dead owner's work waits this long. */
    TASK_LEASE_MS: env.positiveInt(30_000),
    /** Attempts of a workflow whose provider is away, before the failure is taken as final. */
    WORKFLOW_MAX_ATTEMPTS: env.positiveInt(5),
    WORKFLOW_RETRY_INITIAL_MS: env.positiveInt(1_000),
    WORKFLOW_RETRY_MAX_MS: env.positiveInt(30_000),
    /** A running ingest or batch whose heartbeat stopped this long ago is re-queued. */
    REAPER_STALE_MS: env.positiveInt(60_000),
    REAPER_MAX_REQUEUES: env.positiveInt(3),
    /** How often each replica looks at the ingest schedule; 10 × this (at least 10 s) is the window a late look catches up within. */
    INGEST_SCHEDULE_TICK_MS: env.positiveInt(1_000),
    PROVIDER_TIMEOUT_MS: env.positiveInt(10_000),
    /** The student-information source (GET <url>/students). */
    SIS_URL: z.url().default(DEV.SIS_URL),
    /** Microsoft Graph and its token endpoint (development: the stand-in serves both). */
    GRAPH_URL: z.url().default(DEV.GRAPH_URL),
    GRAPH_LOGIN_URL: z.url().default(DEV.GRAPH_LOGIN_URL),
    GRAPH_TENANT_ID: z.string().min(1).default('cupo-dev'),
    GRAPH_CLIENT_ID: z.string().min(1).default('cupo-worker'),
    /** The app registration's secret. */
    GRAPH_CLIENT_SECRET: z.string().min(1).default(DEV.GRAPH_CLIENT_SECRET),
    GRAPH_USER_DOMAIN: z.string().min(1).default('students.cupo.test'),
    GRAPH_LICENSE_SKU_ID: z.uuid().default('00000000-0000-4000-8000-00000000cafe'),
    MOODLE_URL: z.url().default(DEV.MOODLE_URL),
    /** The web-service token of the Moodle integration user. */
    MOODLE_TOKEN: z.string().min(1).default(DEV.MOODLE_TOKEN),
    MOODLE_WELCOME_COURSE_ID: env.positiveInt(2),
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\//, 'must be smtp:// or smtps://')
      .default(DEV.SMTP_URL),
    MAIL_FROM: z.string().min(3).default('Cupo <no-reply@cupo.test>'),
  })
  .superRefine(refuseDevelopmentDefaults(DEVELOPMENT_DEFAULTS));

const Checked = Schema.superRefine((c, ctx) => {
  if (c.TASK_LEASE_MS < 3 * c.TASK_HEARTBEAT_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['TASK_LEASE_MS'],
      message: 'must be at least 3 × TASK_HEARTBEAT_MS, or one late heartbeat loses the claim',
    });
  }
});

export type WorkerConfig = z.infer<typeof Schema>;

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return parseConfig(Checked, environment);
}
