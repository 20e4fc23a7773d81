import { RpcServer, rpcHandler, type AmqpConnectionManager, type RpcHandler, type RpcServerOptions } from '@cupo/amqp';
import { BreakerBroadcasts, ListBreakers, ResetBreaker } from '@cupo/contracts';
import { CircuitBreakerNotFoundError } from './errors.js';
import type { CircuitBreakers } from './registry.js';

/** Who answers: the service's name and this process's. */
export interface BreakerOwner {
  service: string;
  instance: string;
}

/**
 * What every process answers on BreakerBroadcasts: its breakers, and a reset of one of them.
 * A reset that names another service or instance, or a breaker this process lacks, is refused
 * (CIRCUIT_BREAKER_NOT_FOUND): the caller counts the processes that did reset.
 */
export function breakerHandlers(breakers: CircuitBreakers, owner: BreakerOwner): RpcHandler[] {
  const { service, instance } = owner;
  return [
    rpcHandler(ListBreakers, async () => ({ service, instance, breakers: breakers.snapshot() })),
    rpcHandler(ResetBreaker, async (command) => {
      const ours =
        breakers.has(command.name) &&
        (command.service === undefined || command.service === service) &&
        (command.instance === undefined || command.instance === instance);
      if (!ours) throw new CircuitBreakerNotFoundError(command.name);
      breakers.reset(command.name);
      return { service, instance, name: command.name, state: breakers.stateOf(command.name) };
    }),
  ];
}

/**
 * The RPC server that answers the breaker broadcast: one exclusive queue per process on the
 * fanout exchange, so every replica of every service answers. Start it with the service's
 * other consumers and stop it with them.
 */
export function breakerBroadcastServer(
  amqp: AmqpConnectionManager,
  options: BreakerOwner & { breakers: CircuitBreakers } & Pick<RpcServerOptions, 'logger' | 'registry'>,
): RpcServer {
  return new RpcServer(amqp, {
    queue: `${options.service}.ops.breakers`,
    broadcastExchange: BreakerBroadcasts.exchange,
    handlers: breakerHandlers(options.breakers, options),
    prefetch: 4,
    logger: options.logger,
    registry: options.registry,
  });
}
