import { z } from 'zod';
import { env, parseConfig } from '@cupo/service-kit';

/** The development default: `make run` and the tests use it; production must replace it. */
export const DEV_JWT_SECRET = 'dev-secret-change-me';

/** An optional setting: unset and empty both mean "not configured". */
const optionalText = () =>
  z
    .string()
    .optional()
    .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const Schema = z
  .object({
    NODE_ENV: z.string().default('development'),
    PORT: env.port(8080),
    AMQP_URL: z.url().default('amqp://guest:guest@127.0.0.1:5672'),
    REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
    REDIS_KEY_PREFIX: z.string().default(''),
    /** A Redis command unanswered this long fails (and counts against the breaker). */
    REDIS_COMMAND_TIMEOUT_MS: env.positiveInt(1_000),
    JWT_SECRET: z.string().min(16, 'must be at least 16 characters').default(DEV_JWT_SECRET),
    /** The longest a token may live (exp − iat, and exp − now): a leaked token is useful this long at most. */
    JWT_MAX_LIFETIME_SECONDS: env.positiveInt(86_400),
    /** When set, a token's `iss` / `aud` must name it. */
    JWT_ISSUER: optionalText(),
    JWT_AUDIENCE: optionalText(),
    LOG_LEVEL: env.logLevel(),
    /** How long the gateway waits for a service's answer before 504. */
    RPC_TIMEOUT_MS: env.positiveInt(5_000),
    IDEMPOTENCY_TTL_SECONDS: env.positiveInt(7_200),
    /** The `redis` circuit breaker (the contract's defaults: 5 failures / 10 s open / 3 successes). */
    REDIS_CIRCUIT_FAILURE_THRESHOLD: env.positiveInt(5),
    REDIS_CIRCUIT_RECOVERY_TIMEOUT: z.coerce.number().positive().default(10),
    REDIS_CIRCUIT_SUCCESS_THRESHOLD: env.positiveInt(3),
    /** How long ops endpoints wait for every replica to report its circuit breakers. */
    OPS_GATHER_WINDOW_MS: env.positiveInt(250),
    SHUTDOWN_TIMEOUT_MS: env.positiveInt(20_000),
    /** Development only: POST /api/dev/token signs a token for any user and role. */
    DEV_LOGIN_ENABLED: env.bool(false),
  })
  .refine((c) => c.NODE_ENV !== 'production' || c.JWT_SECRET !== DEV_JWT_SECRET, {
    path: ['JWT_SECRET'],
    message: 'the development default must not be used in production',
  })
  .refine((c) => c.NODE_ENV !== 'production' || !c.DEV_LOGIN_ENABLED, {
    path: ['DEV_LOGIN_ENABLED'],
    message: 'the development sign-in must not be enabled in production',
  });

export type GatewayConfig = z.infer<typeof Schema>;

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return parseConfig(Schema, environment);
}
