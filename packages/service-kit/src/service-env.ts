import { z } from 'zod';
import { env, parseConfig, refuseDevelopmentDefaults } from './config.js';

/**
 * The local servers `make run` and the tests run on. Each is a development default: a service
 * lists the ones it uses in its `DEVELOPMENT_DEFAULTS`, which `refuseDevelopmentDefaults`
 * refuses under NODE_ENV=production.
 */
export const LOCAL_SERVERS = {
  AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
  REDIS_URL: 'redis://127.0.0.1:6379',
  /** Each service has a database of its own on the one server. */
  databaseUrl: (database: string) => `postgres://postgres@127.0.0.1:5432/${database}`,
  /** A backend service's: its own database and the broker (serviceEnv.backend() takes them). */
  backend: (database: string) => ({ DATABASE_URL: LOCAL_SERVERS.databaseUrl(database), AMQP_URL: LOCAL_SERVERS.AMQP_URL }),
} as const;

/** What a backend service (inventory, booking, enrollment, the worker) sizes for itself. */
export interface BackendSizes {
  /** Its ops port (HTTP_PORT). */
  opsPort: number;
  /** PG_POOL_MAX's default. */
  poolMax: number;
  /** RPC_PREFETCH's default. */
  rpcPrefetch: number;
}

/**
 * The settings every service reads alike, written once. A service's config spreads the groups
 * it uses into its schema and adds its own settings and cross-field rules:
 *
 *     z.object({ ...serviceEnv.base(), ...serviceEnv.postgres(DEV.DATABASE_URL, 8), RPC_PREFETCH: … })
 *
 * Defaults that differ between services (ports, pool sizes) are parameters; a URL's default
 * is the service's development default, from the same record its refusal reads.
 */
export const serviceEnv = {
  /** NODE_ENV (unset: development; the images set production), the log level and the shutdown deadline. */
  base: () => ({
    NODE_ENV: env.nodeEnv(),
    LOG_LEVEL: env.logLevel(),
    /** The whole shutdown, shared among its steps: keep it under the pod's terminationGracePeriodSeconds. */
    SHUTDOWN_TIMEOUT_MS: env.positiveInt(20_000),
  }),
  /** /healthz, /readyz and /metrics, for a service with no public HTTP. */
  ops: (port: number) => ({ HTTP_PORT: env.port(port) }),
  postgres: (url: string, poolMax: number) => ({ DATABASE_URL: z.url().default(url), PG_POOL_MAX: env.positiveInt(poolMax) }),
  amqp: (url: string) => ({ AMQP_URL: z.url().default(url) }),
  /** Commands one replica works on at once. */
  rpcServer: (prefetch: number) => ({ RPC_PREFETCH: env.positiveInt(prefetch) }),
  redis: (url: string) => ({
    REDIS_URL: z.url().default(url),
    REDIS_KEY_PREFIX: z.string().default(''),
    /** A Redis command unanswered this long fails (and counts against the breaker). */
    REDIS_COMMAND_TIMEOUT_MS: env.positiveInt(1_000),
  }),
  /** A job queue's consumer (@cupo/amqp's JobConsumer): tries, the broker's delivery limit, backoff. */
  jobs: () => ({
    /** Tries before a job whose processing keeps failing is dead-lettered and recorded as failed. */
    JOB_MAX_ATTEMPTS: env.positiveInt(5),
    /** Deliveries a job message may take without being settled (its consumer died) before it is given up on; a queue argument, the same for every replica. */
    JOB_DELIVERY_LIMIT: env.positiveInt(10),
    JOB_RETRY_INITIAL_MS: env.positiveInt(200),
    JOB_RETRY_MAX_MS: env.positiveInt(5_000),
  }),
  /**
   * The settings of a service that answers RPC commands and keeps a database: base, ops,
   * postgres, amqp and rpcServer, with `defaults` its development defaults for the two servers
   * (LOCAL_SERVERS.backend(database), within its DEVELOPMENT_DEFAULTS).
   */
  backend: (defaults: { DATABASE_URL: string; AMQP_URL: string }, sizes: BackendSizes) => ({
    ...serviceEnv.base(),
    ...serviceEnv.postgres(defaults.DATABASE_URL, sizes.poolMax),
    ...serviceEnv.amqp(defaults.AMQP_URL),
    ...serviceEnv.ops(sizes.opsPort),
    ...serviceEnv.rpcServer(sizes.rpcPrefetch),
  }),
  /** The transactional outbox's relay (@cupo/outbox). */
  outbox: () => ({
    OUTBOX_BATCH_SIZE: env.positiveInt(200),
    /** The fallback poll, for rows whose writer died before kicking its relay. */
    OUTBOX_POLL_MS: env.positiveInt(500),
  }),
};

/**
 * What a migration or seed step (`node dist/migrate.js`, `dist/seed.js`) reads: NODE_ENV and
 * DATABASE_URL only, refusing the development database under NODE_ENV=production. Not the
 * service's whole configuration: compose's and the chart's migration steps are given the
 * database alone and run with the image's NODE_ENV=production, which would refuse the broker's
 * (and Redis's, the providers') development defaults they have no use for.
 */
export function loadDatabaseConfig(
  databaseUrl: string,
  environment: NodeJS.ProcessEnv = process.env,
): { NODE_ENV: string; DATABASE_URL: string } {
  const schema = z
    .object({ NODE_ENV: env.nodeEnv(), DATABASE_URL: z.url().default(databaseUrl) })
    .superRefine(refuseDevelopmentDefaults({ DATABASE_URL: databaseUrl }));
  return parseConfig(schema, environment);
}
