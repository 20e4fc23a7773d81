import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { DependencyUnavailableError } from '@cupo/errors';
import { Gauge, type Registry } from 'prom-client';

export interface QueueDepth {
  messages: number;
  consumers: number;
}

/**
 * Reads queue depths and consumer counts from RabbitMQ itself (a passive declare). Each
 * check gets a throwaway channel: checking a queue that does not exist closes the channel
 * it was asked on, and that must not be a channel anything else uses.
 */
export class QueueInspector {
  constructor(private readonly connection: AmqpConnectionManager) {}

  async depths(queues: readonly string[]): Promise<Record<string, QueueDepth | null>> {
    const model = this.connection.connection;
    if (!model || !this.connection.isConnected()) throw new DependencyUnavailableError('RabbitMQ');
    const entries = await Promise.all(
      queues.map(async (queue): Promise<[string, QueueDepth | null]> => {
        const channel = await model.createChannel();
        channel.on('error', () => undefined);
        try {
          const { messageCount, consumerCount } = await channel.checkQueue(queue);
          return [queue, { messages: messageCount, consumers: consumerCount }];
        } catch {
          return [queue, null];
        } finally {
          await channel.close().catch(() => undefined);
        }
      }),
    );
    return Object.fromEntries(entries);
  }

  /** `queue_messages` and `queue_consumers` gauges, read from the broker at each scrape. */
  registerGauges(registry: Registry, queues: readonly string[]): void {
    if (registry.getSingleMetric('queue_messages')) {
      throw new Error('registerGauges: call it once per registry, with every queue to watch');
    }
    const consumers = new Gauge({
      name: 'queue_consumers',
      help: 'Consumers attached to the queue, as RabbitMQ reports it',
      labelNames: ['queue'],
      registers: [registry],
    });
    new Gauge({
      name: 'queue_messages',
      help: 'Messages ready in the queue, as RabbitMQ reports it',
      labelNames: ['queue'],
      registers: [registry],
      collect: async function collect(this: Gauge<'queue'>) {
        const depths = await new Promise<Record<string, QueueDepth | null>>((resolve) => {
          inspector
            .depths(queues)
            .then(resolve)
            .catch(() => resolve({}));
        });
        for (const [queue, depth] of Object.entries(depths)) {
          if (!depth) continue;
          this.set({ queue }, depth.messages);
          consumers.set({ queue }, depth.consumers);
        }
      },
    });
    const inspector = this;
  }
}
