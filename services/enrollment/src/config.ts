import { z } from 'zod';
import { StoreAndOutboxBreakerEnv } from '@cupo/circuit-breakers';
import { env, parseConfig, refuseDevelopmentDefaults } from '@cupo/service-kit';

/** The local servers `make run` and the tests use; NODE_ENV=production (the image's) refuses them. */
export const DEVELOPMENT_DEFAULTS = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/cupo_enrollment',
  AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
} as const;
const DEV = DEVELOPMENT_DEFAULTS;

const Schema = z.object({
  NODE_ENV: env.nodeEnv(),
  DATABASE_URL: z.url().default(DEV.DATABASE_URL),
  AMQP_URL: z.url().default(DEV.AMQP_URL),
  HTTP_PORT: env.port(9301),
  LOG_LEVEL: env.logLevel(),
  PG_POOL_MAX: env.positiveInt(8),
  RPC_PREFETCH: env.positiveInt(32),
  /** Enrollment requests one replica processes at once. */
  JOB_PREFETCH: env.positiveInt(8),
  /** Tries before a request whose processing keeps failing is dead-lettered and failed. */
  JOB_MAX_ATTEMPTS: env.positiveInt(5),
  /** Deliveries a job message may take without being settled (its consumer died) before it is given up on; a queue argument, the same for every replica. */
  JOB_DELIVERY_LIMIT: env.positiveInt(10),
  JOB_RETRY_INITIAL_MS: env.positiveInt(200),
  JOB_RETRY_MAX_MS: env.positiveInt(5_000),
  OUTBOX_BATCH_SIZE: env.positiveInt(200),
  OUTBOX_POLL_MS: env.positiveInt(500),
  RECOVERY_INTERVAL_MS: env.positiveInt(5_000),
  /** A request queued or processing with no progress for this long is announced again. */
  STALE_REQUEST_MS: env.positiveInt(30_000),
  IDEMPOTENCY_TTL_SECONDS: env.positiveInt(7_200),
  /** A key derived from the request (no Idempotency-Key) lives this long after its request ends. */
  DERIVED_KEY_GRACE_SECONDS: env.positiveInt(10),
  ...StoreAndOutboxBreakerEnv.shape,
  SHUTDOWN_TIMEOUT_MS: env.positiveInt(20_000),
}).superRefine(refuseDevelopmentDefaults(DEVELOPMENT_DEFAULTS));

export type EnrollmentConfig = z.infer<typeof Schema>;

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): EnrollmentConfig {
  return parseConfig(Schema, environment);
}
