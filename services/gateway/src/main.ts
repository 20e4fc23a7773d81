import { amqpFromEnv, RpcClient } from '@cupo/amqp';
import { redisFromEnv } from '@cupo/redis';
import { closeHttpServer, listen, runService } from '@cupo/service-kit';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGateway } from './app.js';
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
    const amqp = rabbitmq.client;
    const rpc = new RpcClient(amqp, { defaultTimeoutMs: config.RPC_TIMEOUT_MS, logger, registry });
    const app = createGateway({ rpc, amqp, redis, config, logger, registry, instance, isDraining });
    const { server, port } = await listen(app, config.PORT, '0.0.0.0', logger);
    const drainDelayMs = config.SHUTDOWN_DRAIN_DELAY_MS;
    return {
      // Ready once RPC replies can arrive. Not Redis: only keyed bookings need it (503 via its breaker).
      uses: { rabbitmq },
      start: () => rpc.ready(),
      // No request dropped in a rolling update: /readyz turns 503, it serves on while endpoints stop
      // sending it connections, then finishes what is in flight (the rest: 503 as RPC closes).
      stop: [
        { name: 'let endpoints propagate', needsMs: drainDelayMs, run: () => sleep(drainDelayMs) },
        { name: 'finish requests', weight: 6, run: () => closeHttpServer(server) },
      ],
      clients: { rpc, redis },
      ready: { port },
    };
  },
});
