import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';

/**
 * Acks on the channel that delivered the message, once. A delivery tag belongs to its
 * channel: acking it on a reconnected channel (or twice) makes the broker close the channel.
 * If the channel is already gone the broker will redeliver, which idempotent handlers absorb.
 */
export function safeAck(channel: Channel, message: ConsumeMessage, logger: Logger): void {
  try {
    channel.ack(message);
  } catch (error) {
    logger.warn({ err: error }, 'ack failed (channel closed); the message will be redelivered');
  }
}
