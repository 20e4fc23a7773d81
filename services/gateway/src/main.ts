import { amqpReadiness, connectAmqp, RpcClient } from '@cupo/amqp';
import { breakerBroadcastServer } from '@cupo/circuit-breakers';
import { connectRedis } from '@cupo/redis';
import { closeHttpServer, listen, runService } from '@cupo/service-kit';
import { setTimeout as sleep } from 'node:timers/promises';
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
    // Every gateway replica answers ops' breaker broadcast, not only the one asked.
    const broadcasts = breakerBroadcastServer(amqp, { service: 'gateway', instance, breakers, logger, registry });
    const { server, port } = await listen(app, config.PORT, '0.0.0.0', logger);
    const drainDelayMs = config.SHUTDOWN_DRAIN_DELAY_MS;
    return {
      // Ready once RPC replies can arrive. Not Redis: only keyed bookings need it (503 via its breaker).
      checks: { rabbitmq: amqpReadiness(amqp) },
      start: async () => void (await Promise.all([rpc.ready(), broadcasts.start()])),
      // No request dropped in a rolling update: /readyz turns 503, it serves on while endpoints stop
      // sending it connections, then finishes what is in flight (the rest: 503 as RPC closes).
      stop: [
        { name: 'let endpoints propagate', needsMs: drainDelayMs, run: () => sleep(drainDelayMs) },
        { name: 'finish requests', weight: 6, run: () => closeHttpServer(server) },
        { name: 'stop answering breaker broadcasts', run: ({ ms }) => broadcasts.stop(ms) },
      ],
      clients: { rpc, amqp, redis },
      ready: { port },
    };
  },
});
