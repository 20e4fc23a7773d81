import { z } from 'zod';
import { DatabaseBreakerEnv } from '@cupo/circuit-breakers';
import { LOCAL_SERVERS, parseConfig, refuseDevelopmentDefaults, serviceEnv } from '@cupo/service-kit';

/** The local servers `make run` and the tests use; NODE_ENV=production (the image's) refuses them. */
export const DEVELOPMENT_DEFAULTS = {
  DATABASE_URL: LOCAL_SERVERS.databaseUrl('cupo_inventory'),
  AMQP_URL: LOCAL_SERVERS.AMQP_URL,
} as const;
const DEV = DEVELOPMENT_DEFAULTS;

const Schema = z.object({
  ...serviceEnv.base(),
  ...serviceEnv.postgres(DEV.DATABASE_URL, 8),
  ...serviceEnv.amqp(DEV.AMQP_URL),
  ...serviceEnv.ops(9101),
  ...serviceEnv.rpcServer(64),
  ...DatabaseBreakerEnv.shape,
}).superRefine(refuseDevelopmentDefaults(DEVELOPMENT_DEFAULTS));

export type InventoryConfig = z.infer<typeof Schema>;

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): InventoryConfig {
  return parseConfig(Schema, environment);
}
