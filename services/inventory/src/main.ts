import { amqpReadiness, connectAmqp, RpcServer } from '@cupo/amqp';
import { createPool, databaseReadiness } from '@cupo/database';
import {
  closeHttpServer,
  createLogger,
  createMetricsRegistry,
  createShutdown,
  exitOnSignals,
  startOpsServer,
} from '@cupo/service-kit';
import { loadConfig } from './config.js';
import { InventoryStore } from './inventory-store.js';
import { inventoryHandlers } from './rpc-handlers.js';

/** The composition root: the only place that reads config and wires adapters together. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ service: 'inventory', level: config.LOG_LEVEL });
  const registry = createMetricsRegistry('inventory');

  const sql = createPool({
    url: config.DATABASE_URL,
    max: config.PG_POOL_MAX,
    applicationName: 'cupo-inventory',
  });
  const amqp = connectAmqp({ url: config.AMQP_URL, name: 'inventory', logger });
  const server = new RpcServer(amqp, {
    queue: 'inventory.rpc',
    handlers: inventoryHandlers(new InventoryStore(sql)),
    prefetch: config.RPC_PREFETCH,
    logger,
    registry,
  });

  // Not ready until every consumer is attached: a replica that answers /readyz must be able to serve.
  let accepting = false;
  const ops = await startOpsServer({
    port: config.HTTP_PORT,
    logger,
    registry,
    isAccepting: () => accepting,
    checks: { postgres: databaseReadiness(sql), rabbitmq: amqpReadiness(amqp) },
  });

  const shutdown = createShutdown(
    logger,
    [
      { name: 'mark not ready', run: async () => void (accepting = false) },
      // Commands not finished within this share stay unacked and go back to the queue when the channel closes.
      { name: 'stop consuming and drain', weight: 6, run: ({ ms }) => server.stop(ms) },
      { name: 'close amqp', run: () => amqp.close() },
      { name: 'close postgres', run: ({ ms }) => sql.end({ timeout: ms / 1000 }) },
      { name: 'close http', run: () => closeHttpServer(ops.server) },
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
  exitOnSignals(shutdown);

  await server.start();
  accepting = true;
  logger.info({ httpPort: ops.port }, 'inventory ready');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
