import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { DomainError } from '@cupo/errors';
import { safeAck } from './ack.js';
import { HEADER_REQUEST_ID } from './envelope.js';
import { ConfirmedPublisher } from './publisher.js';
import type { PayloadSchema } from './rpc-server.js';

export const HEADER_ATTEMPTS = 'x-attempts';
export const HEADER_OUTAGE_RETRIES = 'x-outage-retries';
export const HEADER_LAST_ERROR = 'x-last-error';

/**
 * A durable work queue and its two companions:
 * - `<queue>.retry` has no consumer; a message waits there for its own expiration (the
 *   backoff delay) and is then dead-lettered straight back into `<queue>`;
 * - `<queue>.dead` keeps messages that were given up on, for an operator to inspect.
 */
export interface JobTopology {
  exchange: string;
  queue: string;
  routingKey: string;
}

export const retryQueueOf = (queue: string) => `${queue}.retry`;
export const deadQueueOf = (queue: string) => `${queue}.dead`;

export async function assertJobTopology(channel: Channel, topology: JobTopology): Promise<void> {
  await channel.assertExchange(topology.exchange, 'direct', { durable: true });
  await channel.assertQueue(topology.queue, { durable: true });
  await channel.bindQueue(topology.queue, topology.exchange, topology.routingKey);
  await channel.assertQueue(retryQueueOf(topology.queue), {
    durable: true,
    deadLetterExchange: '',
    deadLetterRoutingKey: topology.queue,
  });
  await channel.assertQueue(deadQueueOf(topology.queue), { durable: true });
}

export interface JobContext {
  requestId: string;
  /** 1 on the first try; outage retries do not count. */
  attempt: number;
  redelivered: boolean;
  logger: Logger;
}

export interface JobConsumerOptions<T> {
  topology: JobTopology;
  schema: PayloadSchema<T>;
  /** Messages one replica works on at once. */
  prefetch: number;
  /** Tries before a message that keeps failing is given up on (dead-lettered). */
  maxAttempts: number;
  backoff: { initialMs: number; maxMs: number };
  handle: (payload: T, context: JobContext) => Promise<void>;
  /**
   * Records, durably, that the job was given up on (e.g. the request ends `failed`), before
   * the message moves to the dead-letter queue. If this throws, the message is retried later
   * instead, so a job is never dead-lettered without its owner knowing.
   */
  onGiveUp: (payload: T, error: unknown, context: JobContext) => Promise<void>;
  logger: Logger;
  registry: Registry;
}

/**
 * Consumes a durable queue. The outcome of each message decides what happens to it:
 * - handled → ack (the handler has committed its effects);
 * - a dependency is unavailable (`kind: unavailable`, e.g. an open breaker) → back to the
 *   retry queue with backoff, without using up an attempt: the job is not at fault;
 * - any other error → retry with exponential backoff and full jitter until `maxAttempts`,
 *   then `onGiveUp` and the dead-letter queue;
 * - a payload that cannot be parsed → dead-letter queue at once (retrying cannot fix it).
 *
 * Moving a message (to retry or dead) is a confirmed publish followed by the ack of the
 * original, never the reverse: a crash in between leaves a duplicate, which idempotent
 * handlers absorb, rather than a loss.
 */
export class JobConsumer<T> {
  private channel: ChannelWrapper | undefined;
  private readonly publisher: ConfirmedPublisher;
  private current: { channel: Channel; consumerTag: string } | undefined;
  private stopped = false;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private readonly outcomes: Counter<'queue' | 'outcome'>;
  private readonly duration: Histogram<'queue' | 'outcome'>;

  constructor(
    private readonly connection: AmqpConnectionManager,
    private readonly options: JobConsumerOptions<T>,
  ) {
    this.publisher = new ConfirmedPublisher(connection, { name: `${options.topology.queue}:moves` });
    // Several consumers in one process (the worker's queries and onboarding) share the metrics.
    this.outcomes = (options.registry.getSingleMetric('job_messages_total') as Counter<'queue' | 'outcome'> | undefined) ?? new Counter({
      name: 'job_messages_total',
      help: 'Job messages by queue and outcome (ok, retried, outage_retry, dead_lettered)',
      labelNames: ['queue', 'outcome'],
      registers: [options.registry],
    });
    this.duration = (options.registry.getSingleMetric('job_duration_seconds') as Histogram<'queue' | 'outcome'> | undefined) ?? new Histogram({
      name: 'job_duration_seconds',
      help: 'Time spent handling one job message, by queue and outcome',
      labelNames: ['queue', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [options.registry],
    });
  }

  async start(): Promise<void> {
    const { topology, prefetch } = this.options;
    this.channel = this.connection.createChannel({
      name: `consumer:${topology.queue}`,
      confirm: false,
      setup: async (channel: Channel) => {
        if (this.stopped) return;
        await assertJobTopology(channel, topology);
        await channel.prefetch(prefetch);
        const { consumerTag } = await channel.consume(topology.queue, (message) => {
          if (message) void this.onMessage(channel, message);
        });
        this.current = { channel, consumerTag };
      },
    });
    await Promise.all([this.channel.waitForConnect(), this.publisher.ready()]);
  }

  /** Stops taking messages, lets the ones in hand finish, then closes the channels. */
  async stop(drainTimeoutMs = 10_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.current) await this.current.channel.cancel(this.current.consumerTag).catch(() => undefined);
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        setTimeout(resolve, drainTimeoutMs).unref();
      });
    }
    await this.channel?.close();
    await this.publisher.close();
  }

  private async onMessage(channel: Channel, message: ConsumeMessage): Promise<void> {
    this.inFlight += 1;
    const started = process.hrtime.bigint();
    const headers = message.properties.headers ?? {};
    const attempt = Number(headers[HEADER_ATTEMPTS] ?? 1);
    const context: JobContext = {
      requestId: String(headers[HEADER_REQUEST_ID] ?? message.properties.messageId ?? ''),
      attempt,
      redelivered: message.fields.redelivered,
      logger: this.options.logger.child({
        requestId: headers[HEADER_REQUEST_ID],
        queue: this.options.topology.queue,
        attempt,
      }),
    };
    let outcome = 'ok';
    try {
      outcome = await this.process(channel, message, context);
    } catch (error) {
      // Only moving the message can land here (broker gone): it stays unacked and the broker
      // hands it out again once the channel is back.
      outcome = 'transport_error';
      context.logger.warn({ err: error }, 'could not settle job message; it will be redelivered');
    } finally {
      const queue = this.options.topology.queue;
      this.outcomes.inc({ queue, outcome });
      this.duration.observe({ queue, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
      this.inFlight -= 1;
      if (this.inFlight === 0) this.drained?.();
    }
  }

  private async process(channel: Channel, message: ConsumeMessage, context: JobContext): Promise<string> {
    let payload: T;
    try {
      const parsed = this.options.schema.safeParse(JSON.parse(message.content.toString('utf8')));
      if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join('; '));
      payload = parsed.data;
    } catch (error) {
      context.logger.error({ err: error }, 'unparseable job message; dead-lettered');
      await this.move(message, deadQueueOf(this.options.topology.queue), { [HEADER_LAST_ERROR]: describe(error) });
      safeAck(channel, message, context.logger);
      return 'dead_lettered';
    }

    try {
      await this.options.handle(payload, context);
      safeAck(channel, message, context.logger);
      return 'ok';
    } catch (error) {
      if (isUnavailable(error)) return this.retryAfterOutage(channel, message, context, error);
      if (context.attempt >= this.options.maxAttempts) {
        try {
          await this.options.onGiveUp(payload, error, context);
        } catch (recordError) {
          // Could not record the failure (its database is away): keep the job, try later.
          return this.retryAfterOutage(channel, message, context, recordError);
        }
        context.logger.error({ err: error }, 'job failed on its last attempt; dead-lettered');
        await this.move(message, deadQueueOf(this.options.topology.queue), {
          [HEADER_ATTEMPTS]: context.attempt,
          [HEADER_LAST_ERROR]: describe(error),
        });
        safeAck(channel, message, context.logger);
        return 'dead_lettered';
      }
      const delay = this.backoff(context.attempt);
      context.logger.warn({ err: error, retryInMs: delay }, 'job failed; retrying');
      await this.move(message, retryQueueOf(this.options.topology.queue), {
        [HEADER_ATTEMPTS]: context.attempt + 1,
        [HEADER_LAST_ERROR]: describe(error),
      }, delay);
      safeAck(channel, message, context.logger);
      return 'retried';
    }
  }

  private async retryAfterOutage(
    channel: Channel,
    message: ConsumeMessage,
    context: JobContext,
    error: unknown,
  ): Promise<string> {
    const outages = Number(message.properties.headers?.[HEADER_OUTAGE_RETRIES] ?? 0) + 1;
    const delay = this.backoff(Math.min(outages, 10));
    context.logger.warn({ err: describe(error), retryInMs: delay, outages }, 'dependency unavailable; job retried later');
    await this.move(message, retryQueueOf(this.options.topology.queue), { [HEADER_OUTAGE_RETRIES]: outages }, delay);
    safeAck(channel, message, context.logger);
    return 'outage_retry';
  }

  /** Exponential backoff with full jitter (AWS's "full jitter"): uniform in [0, min(max, initial·2^(n-1))]. */
  private backoff(attempt: number): number {
    const { initialMs, maxMs } = this.options.backoff;
    const ceiling = Math.min(maxMs, initialMs * 2 ** (attempt - 1));
    return Math.max(1, Math.round(Math.random() * ceiling));
  }

  private move(
    message: ConsumeMessage,
    queue: string,
    headers: Record<string, unknown>,
    delayMs?: number,
  ): Promise<void> {
    const { properties } = message;
    return this.publisher.publish('', queue, message.content, {
      contentType: properties.contentType as string | undefined,
      messageId: properties.messageId as string | undefined,
      type: properties.type as string | undefined,
      headers: { ...properties.headers, ...headers },
      ...(delayMs === undefined ? {} : { expiration: String(delayMs) }),
    });
  }
}

function isUnavailable(error: unknown): boolean {
  return error instanceof DomainError && error.kind === 'unavailable';
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 500);
}
