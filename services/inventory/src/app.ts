import { RpcServer, type AmqpConnectionManager } from '@cupo/amqp';
import { todayUtc } from '@cupo/contracts';
import type { Sql } from '@cupo/database';
import type { Logger } from '@cupo/service-kit';
import type { Registry } from 'prom-client';
import { rpcHandlers } from './adapters/amqp/rpc-handlers.js';
import { PostgresInventoryStore } from './adapters/postgres/inventory-store.js';
import type { InventoryDeps } from './app/ports.js';
import type { InventoryConfig } from './config.js';

export interface InventoryServiceParts {
  sql: Sql;
  amqp: AmqpConnectionManager;
  registry: Registry;
  logger: Logger;
  config: Pick<InventoryConfig, 'RPC_PREFETCH'>;
}

/**
 * Builds the inventory service from its connections: no listening, no environment. Inventory
 * answers RPCs only (no job queue, so no jobHandlers).
 */
export function createInventoryService(parts: InventoryServiceParts) {
  const deps: InventoryDeps = { store: new PostgresInventoryStore(parts.sql), clock: { today: () => todayUtc() } };
  const rpc = new RpcServer(parts.amqp, {
    queue: 'inventory.rpc',
    handlers: rpcHandlers(deps),
    prefetch: parts.config.RPC_PREFETCH,
    logger: parts.logger,
    registry: parts.registry,
  });
  return { deps, rpc };
}
