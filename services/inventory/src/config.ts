import { z } from 'zod';
import { env, parseConfig } from '@cupo/service-kit';

const Schema = z.object({
  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/cupo_inventory'),
  AMQP_URL: z.url().default('amqp://guest:guest@127.0.0.1:5672'),
  HTTP_PORT: env.port(9101),
  LOG_LEVEL: env.logLevel(),
  PG_POOL_MAX: env.positiveInt(8),
  RPC_PREFETCH: env.positiveInt(64),
  SHUTDOWN_TIMEOUT_MS: env.positiveInt(20_000),
});

export type InventoryConfig = z.infer<typeof Schema>;

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): InventoryConfig {
  return parseConfig(Schema, environment);
}
