import { amqpReadiness, connectAmqp, RpcServer } from '@cupo/amqp';
import { addDatabaseBreaker, breakerBroadcastServer, CircuitBreakers, guardedByBreaker } from '@cupo/circuit-breakers';
import { createPool, databaseReadiness } from '@cupo/database';
import { runService } from '@cupo/service-kit';
import { loadConfig } from './config.js';
import { InventoryStore } from './inventory-store.js';
import { inventoryHandlers } from './rpc-handlers.js';

/** The composition root: the only place that wires adapters together. */
runService({
  name: 'inventory',
  loadConfig,
  opsPort: (config) => config.HTTP_PORT,
  wire: ({ config, logger, registry, instance }) => {
    const sql = createPool({ url: config.DATABASE_URL, max: config.PG_POOL_MAX, applicationName: 'cupo-inventory' });
    const amqp = connectAmqp({ url: config.AMQP_URL, name: 'inventory', logger });
    // The store turns outages into DependencyUnavailableError; the breaker counts them.
    const breakers = addDatabaseBreaker(new CircuitBreakers(registry), config);
    const broadcasts = breakerBroadcastServer(amqp, { service: 'inventory', instance, breakers, logger, registry });
    const server = new RpcServer(amqp, {
      queue: 'inventory.rpc',
      handlers: inventoryHandlers(guardedByBreaker(new InventoryStore(sql), breakers, 'postgres')),
      prefetch: config.RPC_PREFETCH,
      logger,
      registry,
    });
    return {
      checks: { postgres: databaseReadiness(sql), rabbitmq: amqpReadiness(amqp) },
      // Not ready until every consumer is attached: a replica that answers /readyz must be able to serve.
      start: async () => {
        await server.start();
        await broadcasts.start();
      },
      // Commands not finished within this share stay unacked and go back to the queue when the channel closes.
      stop: [{ name: 'stop consuming and drain', weight: 6, run: async ({ ms }) => void (await Promise.all([server.stop(ms), broadcasts.stop(ms)])) }],
      clients: { amqp, sql },
    };
  },
});
