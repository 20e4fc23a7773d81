import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel, Options } from 'amqplib';
import type { Logger } from 'pino';
import { DependencyUnavailableError } from '@cupo/errors';
import { SupervisedChannel } from './supervised-channel.js';
import { inSpan, messagingAttributes, SpanKind, withTraceHeaders } from './tracing.js';

export interface ConfirmedPublisherOptions {
  name: string;
  logger: Logger;
  /** Declares what this publisher sends to; re-run on every new channel. */
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
  private readonly channel: SupervisedChannel;

  constructor(
    private readonly connection: AmqpConnectionManager,
    options: ConfirmedPublisherOptions,
  ) {
    const setup = options.setup;
    this.channel = new SupervisedChannel(connection, {
      name: options.name,
      confirm: true,
      publishTimeoutMs: options.timeoutMs ?? 5_000,
      setup: async (channel) => {
        if (setup) await setup(channel);
      },
      logger: options.logger,
    });
  }

  ready(): Promise<void> {
    return this.channel.waitForConnect();
  }

  /**
   * A producer span per message (a child of the active span: the outbox relay makes the trace
   * stored with the row active), whose context goes out in the message's headers.
   */
  async publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish = {}): Promise<void> {
    const attributes = messagingAttributes(
      'send',
      exchange,
      routingKey,
      options.messageId ? { 'messaging.message.id': options.messageId } : {},
    );
    await inSpan(`publish ${exchange || routingKey}`, { kind: SpanKind.PRODUCER, attributes }, async () => {
      if (!this.connection.isConnected()) throw new DependencyUnavailableError('RabbitMQ');
      try {
        await this.channel.current.publish(exchange, routingKey, content, {
          persistent: true,
          contentType: 'application/json',
          ...options,
          headers: withTraceHeaders(options.headers as Record<string, unknown> | undefined),
        });
      } catch (error) {
        throw new DependencyUnavailableError('RabbitMQ (publish not confirmed)', error);
      }
    });
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
