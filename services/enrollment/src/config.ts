import { z } from 'zod';
import { StoreAndOutboxBreakerEnv } from '@cupo/circuit-breakers';
import { LOCAL_SERVERS, env, parseConfig, refuseDevelopmentDefaults, serviceEnv } from '@cupo/service-kit';

/** The local servers `make run` and the tests use; NODE_ENV=production (the image's) refuses them. */
export const DEVELOPMENT_DEFAULTS = LOCAL_SERVERS.backend('cupo_enrollment');

const Schema = z
  .object({
    ...serviceEnv.backend(DEVELOPMENT_DEFAULTS, { opsPort: 9301, poolMax: 8, rpcPrefetch: 32 }),
    /** Enrollment requests one replica processes at once. */
    JOB_PREFETCH: env.positiveInt(8),
    ...serviceEnv.jobs(),
    ...serviceEnv.outbox(),
    RECOVERY_INTERVAL_MS: env.positiveInt(5_000),
    /** A request queued or processing with no progress for this long is announced again. */
    STALE_REQUEST_MS: env.positiveInt(30_000),
    IDEMPOTENCY_TTL_SECONDS: env.positiveInt(7_200),
    /** A key derived from the request (no Idempotency-Key) lives this long after its request ends. */
    DERIVED_KEY_GRACE_SECONDS: env.positiveInt(10),
    /** Finished sagas (completed, compensated, failed) are deleted this long after they ended; 0 keeps them. */
    SAGA_RETENTION_SECONDS: env.nonNegativeInt(30 * 86_400),
    /** How often the cleanup runs, and its bounds per pass (batches of SAGA_PURGE_BATCH, at most SAGA_PURGE_MAX_BATCHES). */
    SAGA_PURGE_INTERVAL_MS: env.positiveInt(60_000),
    SAGA_PURGE_BATCH: env.positiveInt(1_000),
    SAGA_PURGE_MAX_BATCHES: env.positiveInt(10),
    ...StoreAndOutboxBreakerEnv.shape,
  })
  .superRefine(refuseDevelopmentDefaults(DEVELOPMENT_DEFAULTS));

export type EnrollmentConfig = z.infer<typeof Schema>;

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): EnrollmentConfig {
  return parseConfig(Schema, environment);
}
