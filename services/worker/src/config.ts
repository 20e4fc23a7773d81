import { z } from 'zod';
import { env, parseConfig } from '@cupo/service-kit';

const seconds = (fallback: number) => z.coerce.number().positive().default(fallback);

const Schema = z.object({
  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/cupo_worker'),
  AMQP_URL: z.url().default('amqp://guest:guest@127.0.0.1:5672'),
  HTTP_PORT: env.port(9401),
  LOG_LEVEL: env.logLevel(),
  PG_POOL_MAX: env.positiveInt(6),
  RPC_PREFETCH: env.positiveInt(32),
  /** Queries one replica computes at once. */
  QUERY_PREFETCH: env.positiveInt(8),
  JOB_MAX_ATTEMPTS: env.positiveInt(5),
  JOB_RETRY_INITIAL_MS: env.positiveInt(200),
  JOB_RETRY_MAX_MS: env.positiveInt(5_000),
  /** How long an owner (inventory, enrollment) may take to answer a report's RPC. */
  SOURCE_TIMEOUT_MS: env.positiveInt(10_000),
  /** Answered queries are kept this long, then purged. */
  QUERY_RESULT_TTL_SECONDS: env.positiveInt(86_400),
  /** A query still pending after this long is announced again. */
  STALE_QUERY_MS: env.positiveInt(60_000),
  MAINTENANCE_INTERVAL_MS: env.positiveInt(10_000),
  OUTBOX_BATCH_SIZE: env.positiveInt(200),
  OUTBOX_POLL_MS: env.positiveInt(500),
  DATABASE_CIRCUIT_FAILURE_THRESHOLD: env.positiveInt(3),
  DATABASE_CIRCUIT_RECOVERY_TIMEOUT: seconds(30),
  DATABASE_CIRCUIT_SUCCESS_THRESHOLD: env.positiveInt(2),
  PUBLISH_CIRCUIT_FAILURE_THRESHOLD: env.positiveInt(5),
  PUBLISH_CIRCUIT_RECOVERY_TIMEOUT: seconds(10),
  PUBLISH_CIRCUIT_SUCCESS_THRESHOLD: env.positiveInt(3),
  SHUTDOWN_TIMEOUT_MS: env.positiveInt(20_000),
});

export type WorkerConfig = z.infer<typeof Schema>;

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return parseConfig(Schema, environment);
}
