import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { Channel, Options } from 'amqplib';
import { DependencyUnavailableError } from '@cupo/errors';

export interface ConfirmedPublisherOptions {
  name: string;
  /** Declares what this publisher sends to; re-run after every reconnect. */
  setup?: (channel: Channel) => Promise<void>;
  /** A publish not confirmed within this long fails (instead of waiting in memory forever). */
  timeoutMs?: number;
}

/**
 * Publishes on a confirm channel: the promise resolves only once the broker has taken
 * responsibility for the message (persisted it, for a durable queue). Callers that must not
 * lose a message (the outbox relay, retry and dead-letter moves) wait for it before they
 * delete their copy or ack the original.
 */
export class ConfirmedPublisher {
  private readonly channel: ChannelWrapper;

  constructor(
    private readonly connection: AmqpConnectionManager,
    options: ConfirmedPublisherOptions,
  ) {
    this.channel = connection.createChannel({
      name: options.name,
      confirm: true,
      json: false,
      publishTimeout: options.timeoutMs ?? 5_000,
      setup: options.setup,
    });
  }

  ready(): Promise<void> {
    return this.channel.waitForConnect();
  }

  async publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish = {}): Promise<void> {
    if (!this.connection.isConnected()) throw new DependencyUnavailableError('RabbitMQ');
    try {
      await this.channel.publish(exchange, routingKey, content, {
        persistent: true,
        contentType: 'application/json',
        ...options,
      });
    } catch (error) {
      throw new DependencyUnavailableError('RabbitMQ (publish not confirmed)', error);
    }
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
