import { amqpFromEnv, RpcClient } from '@cupo/amqp';
import { breakerBroadcastServer } from '@cupo/circuit-breakers';
import { redisFromEnv } from '@cupo/redis';
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
    const redis = redisFromEnv(config, logger).client;
    const rabbitmq = amqpFromEnv(config, 'gateway', logger);
    const [amqp, breakers] = [rabbitmq.client, gatewayBreakers(registry, config)];
    const rpc = new RpcClient(amqp, { defaultTimeoutMs: config.RPC_TIMEOUT_MS, logger, registry });
    const app = createGateway({ rpc, amqp, redis, config, logger, registry, instance, isDraining, breakers });
    const broadcasts = breakerBroadcastServer(amqp, { service: 'gateway', instance, breakers, logger, registry }); // every replica lists its own
    const { server, port } = await listen(app, config.PORT, '0.0.0.0', logger);
    return {
      // Ready once RPC replies can arrive. Not Redis: only keyed bookings need it (503 via its breaker).
      uses: { rabbitmq },
      start: async () => void (await Promise.all([rpc.ready(), broadcasts.start()])),
      // No request dropped in a rolling update: /readyz turns 503, it serves on while endpoints stop
      // sending it connections, then finishes what is in flight (the rest: 503 as RPC closes).
      stop: [
        { name: 'let endpoints propagate', needsMs: config.SHUTDOWN_DRAIN_DELAY_MS, run: () => sleep(config.SHUTDOWN_DRAIN_DELAY_MS) },
        { name: 'finish requests', weight: 6, run: () => closeHttpServer(server) },
        { name: 'stop answering breaker broadcasts', run: ({ ms }) => broadcasts.stop(ms) },
      ],
      clients: { rpc, redis },
      ready: { port },
    };
  },
});
