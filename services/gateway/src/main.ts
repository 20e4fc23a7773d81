import { amqpReadiness, connectAmqp, RpcClient } from '@cupo/amqp';
import { breakerBroadcastServer } from '@cupo/circuit-breakers';
import { connectRedis } from '@cupo/redis';
import { closeHttpServer, listen, runService } from '@cupo/service-kit';
import { createGateway, gatewayBreakers } from './app.js';
import { loadConfig } from './config.js';

/** The composition root: the only place that wires adapters together. */
runService({
  name: 'gateway',
  loadConfig,
  opsPort: (config) => config.OPS_PORT,
  closeOpsServer: 'before-clients',
  wire: async ({ config, logger, registry, instance, isDraining }) => {
    const redis = connectRedis({ url: config.REDIS_URL, commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, logger });
    const amqp = connectAmqp({ url: config.AMQP_URL, name: 'gateway', logger });
    const rpc = new RpcClient(amqp, { defaultTimeoutMs: config.RPC_TIMEOUT_MS, logger, registry });
    const breakers = gatewayBreakers(registry, config);
    const app = createGateway({ rpc, amqp, redis, config, logger, registry, instance, isDraining, breakers });
    // Answers ops' breaker broadcast, so every gateway replica's breakers are listed, not only the asker's.
    const broadcasts = breakerBroadcastServer(amqp, { service: 'gateway', instance, breakers, logger, registry });
    const { server, port } = await listen(app, config.PORT, '0.0.0.0', logger);
    return {
      // Not ready until the RPC reply consumer is attached: a replica that answers /readyz must be
      // able to serve. Redis is not a readiness check: only keyed bookings need it, and those go
      // through the `redis` breaker (503 while it is away); everything else keeps being served.
      checks: { rabbitmq: amqpReadiness(amqp) },
      start: async () => {
        await rpc.ready();
        await broadcasts.start();
      },
      // A rolling update must not drop a request. /readyz turns 503 at once, but endpoints and
      // load balancers take a moment to stop sending this replica connections: it keeps serving
      // for SHUTDOWN_DRAIN_DELAY_MS (answers now close their keep-alive connections), then stops
      // accepting and lets the requests in flight finish; then its ops server and clients close.
      stop: [
        // needsMs: its share of the deadline is the whole drain delay.
        { name: 'let endpoints propagate', needsMs: config.SHUTDOWN_DRAIN_DELAY_MS, run: () => new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DRAIN_DELAY_MS)) },
        // Requests still waiting after this share are answered 503 when the RPC client closes next.
        { name: 'finish requests', weight: 6, run: () => closeHttpServer(server) },
        { name: 'stop answering breaker broadcasts', run: ({ ms }) => broadcasts.stop(ms) },
      ],
      clients: { rpc, amqp, redis },
      ready: { port },
    };
  },
});
