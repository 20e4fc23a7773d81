import { z } from 'zod';
import { env, parseConfig, refuseDevelopmentDefaults } from '@cupo/service-kit';

/** The local servers `make run` and the tests use; NODE_ENV=production (the image's) refuses them. */
export const DEVELOPMENT_DEFAULTS = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/cupo_inventory',
  AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
} as const;
const DEV = DEVELOPMENT_DEFAULTS;

const Schema = z.object({
  NODE_ENV: env.nodeEnv(),
  DATABASE_URL: z.url().default(DEV.DATABASE_URL),
  AMQP_URL: z.url().default(DEV.AMQP_URL),
  HTTP_PORT: env.port(9101),
  LOG_LEVEL: env.logLevel(),
  PG_POOL_MAX: env.positiveInt(8),
  RPC_PREFETCH: env.positiveInt(64),
  SHUTDOWN_TIMEOUT_MS: env.positiveInt(20_000),
}).superRefine(refuseDevelopmentDefaults(DEVELOPMENT_DEFAULTS));

export type InventoryConfig = z.infer<typeof Schema>;

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): InventoryConfig {
  return parseConfig(Schema, environment);
}
