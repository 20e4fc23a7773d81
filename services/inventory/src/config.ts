import { z } from 'zod';
import { DatabaseBreakerEnv } from '@cupo/circuit-breakers';
import { LOCAL_SERVERS, parseConfig, refuseDevelopmentDefaults, serviceEnv } from '@cupo/service-kit';

/** The local servers `make run` and the tests use; NODE_ENV=production (the image's) refuses them. */
export const DEVELOPMENT_DEFAULTS = LOCAL_SERVERS.backend('cupo_inventory');

const Schema = z
  .object({
    ...serviceEnv.backend(DEVELOPMENT_DEFAULTS, { opsPort: 9101, poolMax: 8, rpcPrefetch: 64 }),
    ...DatabaseBreakerEnv.shape,
  })
  .superRefine(refuseDevelopmentDefaults(DEVELOPMENT_DEFAULTS));

export type InventoryConfig = z.infer<typeof Schema>;

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): InventoryConfig {
  return parseConfig(Schema, environment);
}
