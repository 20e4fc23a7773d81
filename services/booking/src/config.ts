import { z } from 'zod';
import { DatabaseBreakerEnv, RedisBreakerEnv } from '@cupo/circuit-breakers';
import { LOCAL_SERVERS, env, parseConfig, refuseDevelopmentDefaults, serviceEnv } from '@cupo/service-kit';

/** The local servers `make run` and the tests use; NODE_ENV=production (the image's) refuses them. */
export const DEVELOPMENT_DEFAULTS = { ...LOCAL_SERVERS.backend('cupo_booking'), REDIS_URL: LOCAL_SERVERS.REDIS_URL } as const;

const Schema = z
  .object({
    ...serviceEnv.backend(DEVELOPMENT_DEFAULTS, { opsPort: 9201, poolMax: 8, rpcPrefetch: 64 }),
    ...serviceEnv.redis(DEVELOPMENT_DEFAULTS.REDIS_URL),
    ...DatabaseBreakerEnv.shape,
    ...RedisBreakerEnv.shape,
    /** A lock whose holder died frees itself after this long. */
    LOCK_TTL_MS: env.positiveInt(5_000),
    /** How long a booking waits for nights held by another booking before LOCK_TIMEOUT. */
    LOCK_WAIT_MS: env.positiveInt(2_000),
    LOCK_RETRY_INITIAL_MS: env.positiveInt(5),
    LOCK_RETRY_MAX_MS: env.positiveInt(40),
    INVENTORY_TIMEOUT_MS: env.positiveInt(3_000),
    RECOVERY_INTERVAL_MS: env.positiveInt(1_000),
    /** A pending booking untouched this long is given up and its nights released. */
    STALE_PENDING_MS: env.positiveInt(15_000),
    RELEASE_GRACE_MS: env.positiveInt(2_000),
    /** How often the reconciler compares a page of inventory's reservations and a page of confirmed bookings. */
    RECONCILE_INTERVAL_MS: env.positiveInt(10_000),
    /** Reservations and bookings younger than this are left alone by the reconciler (they may be in flight). */
    RECONCILE_GRACE_MS: env.positiveInt(60_000),
    RECONCILE_PAGE_SIZE: env.positiveInt(200),
  })
  .refine((c) => c.STALE_PENDING_MS > c.INVENTORY_TIMEOUT_MS + c.LOCK_WAIT_MS, {
    path: ['STALE_PENDING_MS'],
    message: 'must exceed INVENTORY_TIMEOUT_MS + LOCK_WAIT_MS, or live bookings would be given up while still working',
  })
  .refine((c) => c.PG_POOL_MAX >= 2, {
    path: ['PG_POOL_MAX'],
    message: 'must be at least 2: a reconciler pass holds one connection for its cursor while it reads through another',
  })
  .refine((c) => c.RECONCILE_GRACE_MS > c.STALE_PENDING_MS + c.RELEASE_GRACE_MS, {
    path: ['RECONCILE_GRACE_MS'],
    message: 'must exceed STALE_PENDING_MS + RELEASE_GRACE_MS, or the reconciler would judge bookings the recovery loop is still settling',
  })
  .superRefine(refuseDevelopmentDefaults(DEVELOPMENT_DEFAULTS));

export type BookingConfig = z.infer<typeof Schema>;

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): BookingConfig {
  return parseConfig(Schema, environment);
}
