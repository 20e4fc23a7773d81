import { RpcServer, type AmqpConnectionManager } from '@cupo/amqp';
import { todayUtc } from '@cupo/contracts';
import {
  addDatabaseBreaker,
  breakerBroadcastServer,
  CircuitBreakers,
  guardedByBreaker,
  type DatabaseBreakerConfig,
} from '@cupo/circuit-breakers';
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
  config: Pick<InventoryConfig, 'RPC_PREFETCH'> & DatabaseBreakerConfig;
  /** This process's name, as ops lists its breakers. */
  instance: string;
}

/**
 * Builds the inventory service from its connections: no listening, no environment. Inventory
 * answers RPCs only (no job queue, so no jobHandlers).
 */
export function createInventoryService(parts: InventoryServiceParts) {
  // The store turns outages into DependencyUnavailableError; the breaker counts them and, once
  // open, refuses at once instead of waiting on the database.
  const breakers = addDatabaseBreaker(new CircuitBreakers(parts.registry), parts.config);
  const store = guardedByBreaker(new PostgresInventoryStore(parts.sql), breakers, 'postgres');
  const deps: InventoryDeps = { store, clock: { today: () => todayUtc() } };
  const rpc = new RpcServer(parts.amqp, {
    queue: 'inventory.rpc',
    handlers: rpcHandlers(deps),
    prefetch: parts.config.RPC_PREFETCH,
    logger: parts.logger,
    registry: parts.registry,
  });
  const broadcasts = breakerBroadcastServer(parts.amqp, {
    service: 'inventory',
    instance: parts.instance,
    breakers,
    logger: parts.logger,
    registry: parts.registry,
  });
  return { deps, rpc, breakers, broadcasts };
}
