import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { RpcContext, RpcHandler } from '@cupo/amqp';
import { ListBreakers, ResetBreaker } from '@cupo/contracts';
import { CircuitBreakerNotFoundError } from './errors.js';
import { breakerHandlers } from './handlers.js';
import { CircuitBreakers } from './registry.js';

const context: RpcContext = { requestId: 'r', deadline: Date.now() + 10_000, redelivered: false, logger: {} as RpcContext['logger'] };

async function opened() {
  const breakers = new CircuitBreakers(new Registry());
  breakers.add('postgres', { dependency: 'PostgreSQL', failureThreshold: 1, openMs: 60_000, successThreshold: 1, isFailure: () => true });
  await breakers
    .run('postgres', async () => {
      throw new Error('down');
    })
    .catch(() => undefined);
  return breakers;
}

const handlerOf = (handlers: RpcHandler[], name: string) => handlers.find((h) => h.command.name === name)!;

describe('the list/reset handlers every service answers', () => {
  it('list this process’s breakers under its service and instance', async () => {
    const handlers = breakerHandlers(await opened(), { service: 'worker', instance: 'worker@a:1' });
    const reply = await handlerOf(handlers, ListBreakers.name).handle({}, context);
    expect(ListBreakers.reply.parse(reply)).toEqual({
      service: 'worker',
      instance: 'worker@a:1',
      breakers: { postgres: { state: 'open', failure_count: 1, success_count: 0 } },
    });
  });

  it('reset the breaker when the command names it, and this service and instance if it names them', async () => {
    const breakers = await opened();
    const reset = handlerOf(breakerHandlers(breakers, { service: 'worker', instance: 'worker@a:1' }), ResetBreaker.name);
    await expect(reset.handle({ name: 'postgres', service: 'booking' }, context)).rejects.toBeInstanceOf(CircuitBreakerNotFoundError);
    await expect(reset.handle({ name: 'postgres', instance: 'worker@b:2' }, context)).rejects.toBeInstanceOf(CircuitBreakerNotFoundError);
    await expect(reset.handle({ name: 'redis' }, context)).rejects.toBeInstanceOf(CircuitBreakerNotFoundError);
    expect(breakers.stateOf('postgres')).toBe('open');
    expect(await reset.handle({ name: 'postgres', service: 'worker', instance: 'worker@a:1' }, context)).toEqual({
      service: 'worker',
      instance: 'worker@a:1',
      name: 'postgres',
      state: 'closed',
    });
    expect(breakers.stateOf('postgres')).toBe('closed');
  });
});
