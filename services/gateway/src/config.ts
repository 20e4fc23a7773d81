import { z } from 'zod';
import { RedisBreakerEnv } from '@cupo/circuit-breakers';
import { LOCAL_SERVERS, env, parseConfig, refuseDevelopmentDefaults, serviceEnv } from '@cupo/service-kit';

/** The development default: `make run` and the tests use it; production must replace it. */
export const DEV_JWT_SECRET = 'dev-secret-change-me';

/** The local servers and the public secret `make run` and the tests use; NODE_ENV=production refuses each. */
export const DEVELOPMENT_DEFAULTS = {
  AMQP_URL: LOCAL_SERVERS.AMQP_URL,
  REDIS_URL: LOCAL_SERVERS.REDIS_URL,
  JWT_SECRET: DEV_JWT_SECRET,
} as const;

/** An optional setting: unset and empty both mean "not configured". */
const optionalText = () =>
  z
    .string()
    .optional()
    .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const TrustProxy = z
  .string()
  .default('false')
  .transform((value) => value.trim())
  .refine(
    (value) => !['true', '*'].includes(value.toLowerCase()),
    'trusting every hop lets any client choose its address; name the proxies or a hop count',
  )
  .transform((value): false | number | string => (value === '' || value === 'false' ? false : /^\d+$/.test(value) ? Number(value) : value));

const Schema = z
  .object({
    ...serviceEnv.base(),
    /** The public API (and a liveness /healthz). */
    PORT: env.port(8080),
    /** /healthz, /readyz and /metrics, for probes and Prometheus: keep it off the public Service. */
    OPS_PORT: env.port(9090),
    ...serviceEnv.amqp(LOCAL_SERVERS.AMQP_URL),
    ...serviceEnv.redis(LOCAL_SERVERS.REDIS_URL),
    JWT_SECRET: z.string().min(16, 'must be at least 16 characters').default(DEV_JWT_SECRET),
    /** The longest a token may live (exp − iat, and exp − now): a leaked token is useful this long at most. */
    JWT_MAX_LIFETIME_SECONDS: env.positiveInt(86_400),
    /** When set, a token's `iss` / `aud` must name it. */
    JWT_ISSUER: optionalText(),
    JWT_AUDIENCE: optionalText(),
    /** How long the gateway waits for a service's answer before 504. */
    RPC_TIMEOUT_MS: env.positiveInt(5_000),
    IDEMPOTENCY_TTL_SECONDS: env.positiveInt(7_200),
    /** The `redis` circuit breaker, `REDIS_CIRCUIT_*` as booking reads them (the contract's 5 failures / 10 s open / 3 successes). */
    ...RedisBreakerEnv.shape,
    /** How long ops endpoints wait for every replica to report its circuit breakers. */
    OPS_GATHER_WINDOW_MS: env.positiveInt(250),
    /**
     * On SIGTERM, how long the gateway keeps serving after /readyz turned 503, so load
     * balancers and Kubernetes endpoints stop sending it new connections before it closes.
     */
    SHUTDOWN_DRAIN_DELAY_MS: env.nonNegativeInt(5_000),
    /**
     * Request budgets per window, shared by all replicas through Redis: per client address and
     * per user, reads (GET) and writes (everything else: bookings, enrollments, queries, admin).
     * Sized for people; the test stack, benchmarks and `make run` raise them.
     */
    RATE_LIMIT_WINDOW_SECONDS: env.positiveInt(60),
    RATE_LIMIT_CLIENT_READS: env.positiveInt(3_000),
    RATE_LIMIT_CLIENT_WRITES: env.positiveInt(600),
    RATE_LIMIT_USER_READS: env.positiveInt(600),
    RATE_LIMIT_USER_WRITES: env.positiveInt(30),
    /**
     * Which proxies' X-Forwarded-For to believe for the client address: `false` (none, the
     * default: the peer is the client), a hop count, or addresses/subnets (`loopback`,
     * `10.0.0.0/8, 172.16.0.0/12`). Never "all": any client could then pick its address.
     */
    TRUST_PROXY: TrustProxy,
    /** Largest JSON body (bytes); the admin's ingest of a student list has its own. */
    BODY_LIMIT_BYTES: env.positiveInt(16 * 1024),
    INGEST_BODY_LIMIT_BYTES: env.positiveInt(4 * 1024 * 1024),
    /** Development only: POST /api/dev/token signs a token for any user and role. */
    DEV_LOGIN_ENABLED: env.bool(false),
  })
  .superRefine(refuseDevelopmentDefaults(DEVELOPMENT_DEFAULTS))
  .refine((c) => c.SHUTDOWN_DRAIN_DELAY_MS < c.SHUTDOWN_TIMEOUT_MS, {
    path: ['SHUTDOWN_DRAIN_DELAY_MS'],
    message: 'must be shorter than SHUTDOWN_TIMEOUT_MS, which also covers finishing requests and closing clients',
  })
  .refine((c) => c.PORT === 0 || c.PORT !== c.OPS_PORT, {
    path: ['OPS_PORT'],
    message: 'must differ from PORT: the ops endpoints stay off the public listener',
  })
  .refine((c) => c.NODE_ENV !== 'production' || !c.DEV_LOGIN_ENABLED, {
    path: ['DEV_LOGIN_ENABLED'],
    message: 'the development sign-in must not be enabled in production',
  });

export type GatewayConfig = z.infer<typeof Schema>;

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return parseConfig(Schema, environment);
}
