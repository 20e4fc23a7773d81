import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { Counter, Histogram, Registry } from 'prom-client';
import { safeAck } from './ack.js';
import { HEADER_REQUEST_ID } from './envelope.js';
import { jobFate, type Delivery, type FatePolicy, type JobEvent } from './job-fate.js';
import { ConfirmedPublisher } from './publisher.js';
import { sharedCounter, sharedHistogram } from './shared-metrics.js';
import type { PayloadSchema } from './rpc-server.js';
import { SupervisedChannel } from './supervised-channel.js';
import { context as otel, SpanStatusCode, trace } from '@opentelemetry/api';
import { failed, messagingAttributes, SpanKind, traceContextOf, tracer } from './tracing.js';

export const HEADER_ATTEMPTS = 'x-attempts';
export const HEADER_OUTAGE_RETRIES = 'x-outage-retries';
export const HEADER_LAST_ERROR = 'x-last-error';
/** Set by quorum queues: how many times this message was delivered and not settled before. */
export const HEADER_DELIVERY_COUNT = 'x-delivery-count';

/**
 * How many times a job message may be handed out and never settled — its consumer crashed,
 * was killed or lost its channel — before it is given up on. Thrown errors do not count here
 * (they are attempts, `maxAttempts`); this catches the message that kills whoever takes it,
 * which would otherwise loop forever. It is a queue argument, fixed when the queue is first
 * declared: every replica must declare the same value (a different one makes the broker
 * refuse the declaration, and the replica stays not ready until it agrees).
 */
export const JOB_DELIVERY_LIMIT = 10;

/**
 * A durable work queue and its two companions:
 * - the queue itself is a quorum queue with a delivery limit: a message handed out
 *   `JOB_DELIVERY_LIMIT` + 1 times without being settled is dead-lettered by the broker
 *   (reason `delivery_limit`), so even a job that crashes every consumer ends;
 * - `<queue>.retry` has no consumer; a message waits there for its own expiration (the
 *   backoff delay) and is then dead-lettered straight back into `<queue>`;
 * - `<queue>.dead` keeps messages that were given up on, for an operator to inspect.
 */
export interface JobTopology {
  exchange: string;
  queue: string;
  routingKey: string;
  /** @defaultValue JOB_DELIVERY_LIMIT */
  deliveryLimit?: number;
}

export const retryQueueOf = (queue: string) => `${queue}.retry`;
export const deadQueueOf = (queue: string) => `${queue}.dead`;

const deliveryLimitOf = (topology: JobTopology) => topology.deliveryLimit ?? JOB_DELIVERY_LIMIT;

const jobQueueArguments = (topology: JobTopology) => ({
  'x-queue-type': 'quorum',
  'x-delivery-limit': deliveryLimitOf(topology),
  'x-dead-letter-exchange': '',
  'x-dead-letter-routing-key': deadQueueOf(topology.queue),
  // Dead-lettering that cannot lose the message on the way (RabbitMQ ≥ 3.10); it requires
  // reject-publish overflow, which only matters if a length limit is ever set.
  'x-dead-letter-strategy': 'at-least-once',
  'x-overflow': 'reject-publish',
});

/**
 * Declares a job queue with its companions. `connection` opens a scratch channel for the
 * one-time migration of a queue declared by an older version as a classic queue (a queue's
 * type cannot change in place): that queue is deleted and declared again as a quorum queue.
 * Its messages are only announcements — each job's state lives in its owner's database, and
 * the owner's sweep announces again whatever has not progressed (enrollment's stale-request
 * sweep, the worker's stale-query sweep and task reaper) — so nothing is lost, only delayed.
 */
export async function assertJobTopology(channel: Channel, topology: JobTopology, connection: AmqpConnectionManager): Promise<void> {
  await migrateClassicQueue(connection, topology);
  await channel.assertExchange(topology.exchange, 'direct', { durable: true });
  await channel.assertQueue(deadQueueOf(topology.queue), { durable: true });
  await channel.assertQueue(topology.queue, { durable: true, arguments: jobQueueArguments(topology) });
  await channel.bindQueue(topology.queue, topology.exchange, topology.routingKey);
  await channel.assertQueue(retryQueueOf(topology.queue), {
    durable: true,
    deadLetterExchange: '',
    deadLetterRoutingKey: topology.queue,
  });
}

/** Migrations in flight in this process, by queue: an exclusive queue locks out other connections only. */
const migrating = new Map<string, Promise<void>>();

async function migrateClassicQueue(connection: AmqpConnectionManager, topology: JobTopology): Promise<void> {
  const queue = topology.queue;
  const running = migrating.get(queue);
  if (running) return running;
  const migration = migrateOnce(connection, queue).finally(() => migrating.delete(queue));
  migrating.set(queue, migration);
  return migration;
}

/**
 * Replaces the classic queue an older version declared (`{durable: true}`, no arguments) by
 * nothing, so that the declaration that follows makes the quorum queue. Each check runs on a
 * scratch channel: a declaration the broker refuses closes the channel it was made on.
 * - Which queue is there: re-declaring it the old way succeeds only on the old classic queue
 *   (on ours the broker refuses, whichever argument it compares first).
 * - One replica migrates: an exclusive queue is the lock (another connection declaring it is
 *   refused, RESOURCE_LOCKED); the others fail this set-up and try again a second later, when
 *   the quorum queue is there. Under the lock the check runs again, so a replica that took the
 *   lock late never deletes the quorum queue another one has just declared.
 */
async function migrateOnce(connection: AmqpConnectionManager, queue: string): Promise<void> {
  const model = connection.connection;
  if (!model) return;
  const scratch = async () => {
    const channel = await model.createChannel();
    channel.on('error', () => undefined);
    return channel;
  };
  const declaredTheOldWay = async (): Promise<boolean> => {
    const probe = await scratch();
    try {
      await probe.checkQueue(queue);
    } catch {
      return false; // absent: nothing to migrate
    }
    const old = await scratch();
    try {
      await old.assertQueue(queue, { durable: true });
      return true;
    } catch {
      return false; // declared otherwise: ours already (or someone else's, which the real declaration reports)
    } finally {
      await old.close().catch(() => undefined);
      await probe.close().catch(() => undefined);
    }
  };
  if (!(await declaredTheOldWay())) return;
  const lock = await scratch();
  const lockName = `${queue}.migration-lock`;
  try {
    await lock.assertQueue(lockName, { exclusive: true, durable: false, autoDelete: true });
  } catch {
    throw new Error(`another replica is migrating ${queue} to a quorum queue; trying again shortly`);
  }
  try {
    if (!(await declaredTheOldWay())) return;
    const deleter = await scratch();
    await deleter.deleteQueue(queue);
    await deleter.close().catch(() => undefined);
  } finally {
    await lock.deleteQueue(lockName).catch(() => undefined);
    await lock.close().catch(() => undefined);
  }
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
 * - a transient error (`isTransient`: a dependency is away, e.g. an open breaker, or did not
 *   answer in time) → back to the retry queue with backoff, without using up an attempt: the
 *   job is not at fault;
 * - any other error → retry with exponential backoff and full jitter until `maxAttempts`,
 *   then `onGiveUp` and the dead-letter queue;
 * - a payload that cannot be parsed → dead-letter queue at once (retrying cannot fix it).
 *
 * Moving a message (to retry or dead) is a confirmed publish followed by the ack of the
 * original, never the reverse: a crash in between leaves a duplicate, which idempotent
 * handlers absorb, rather than a loss.
 */
export class JobConsumer<T> {
  private channel: SupervisedChannel | undefined;
  private readonly publisher: ConfirmedPublisher;
  /** Deliveries handed back after a pause (see `handBack`), settled at once on stop. */
  private readonly handingBack = new Map<ConsumeMessage, { channel: Channel; timer: NodeJS.Timeout }>();
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
    this.publisher = new ConfirmedPublisher(connection, { name: `${options.topology.queue}:moves`, logger: options.logger });
    // Several consumers in one process (the worker's queries and onboarding) share the metrics.
    this.outcomes = sharedCounter(options.registry, {
      name: 'job_messages_total',
      help: 'Job messages by queue and outcome (ok, retried, outage_retry, dead_lettered)',
      labelNames: ['queue', 'outcome'],
    });
    this.duration = sharedHistogram(options.registry, {
      name: 'job_duration_seconds',
      help: 'Time spent handling one job message, by queue and outcome',
      labelNames: ['queue', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
  }

  async start(): Promise<void> {
    const { topology, prefetch } = this.options;
    this.channel = new SupervisedChannel(this.connection, {
      name: `consumer:${topology.queue}`,
      confirm: false,
      logger: this.options.logger,
      setup: async (channel: Channel) => {
        if (this.stopped) return;
        await assertJobTopology(channel, topology, this.connection);
        await channel.prefetch(prefetch);
        const { consumerTag } = await channel.consume(topology.queue, (message) => {
          // null: the broker cancelled the consumer (its queue was deleted or redeclared).
          if (message) void this.onMessage(channel, message);
          else this.channel?.detach(channel, 'consumer cancelled by the broker');
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
    for (const [message, { channel, timer }] of this.handingBack) {
      clearTimeout(timer);
      this.nack(channel, message);
    }
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
    const queue = this.options.topology.queue;
    // A consumer span continuing the trace the message carries (its publisher's, which for an
    // outbox message is the request that wrote the row); the handler's work is its children.
    const parent = traceContextOf(headers);
    const span = tracer().startSpan(
      `process ${queue}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: messagingAttributes('process', message.fields.exchange, message.fields.routingKey, {
          'messaging.destination.subscription.name': queue,
          ...(message.properties.messageId ? { 'messaging.message.id': String(message.properties.messageId) } : {}),
          'cupo.job.attempt': attempt,
          'cupo.job.redelivered': message.fields.redelivered,
        }),
      },
      parent,
    );
    try {
      outcome = await otel.with(trace.setSpan(parent, span), () => this.process(channel, message, context));
    } catch (error) {
      // Only moving the message can land here (the broker refused or did not confirm the
      // publish). The delivery must not stay in hand, holding a prefetch slot until the
      // channel dies: it goes back to the queue, after a pause so a broker that cannot take
      // publishes now is not asked again in a tight loop.
      outcome = 'transport_error';
      failed(span, error);
      context.logger.warn({ err: error }, 'could not move job message; handing it back for redelivery');
      const fate = this.fate({ type: 'move_failed' }, message, context);
      if (fate.fate === 'hand_back') this.handBack(channel, message, fate.delayMs);
    } finally {
      span.setAttribute('cupo.job.outcome', outcome);
      if (outcome === 'dead_lettered') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      span.end();
      this.outcomes.inc({ queue, outcome });
      this.duration.observe({ queue, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
      this.inFlight -= 1;
      if (this.inFlight === 0) this.drained?.();
    }
  }

  /** The fate of this delivery after `event` (see job-fate.ts): the rules live there, the moves here. */
  private fate(event: JobEvent, message: ConsumeMessage, context: JobContext) {
    const headers = message.properties.headers ?? {};
    const delivery: Delivery = {
      attempt: context.attempt,
      deliveries: Number(headers[HEADER_DELIVERY_COUNT] ?? 0),
      outages: Number(headers[HEADER_OUTAGE_RETRIES] ?? 0),
    };
    const policy: FatePolicy = {
      maxAttempts: this.options.maxAttempts,
      deliveryLimit: deliveryLimitOf(this.options.topology),
      backoff: this.options.backoff,
    };
    return jobFate(event, delivery, policy);
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

    if (this.fate({ type: 'received' }, message, context).fate === 'give_up') {
      const deliveries = Number(message.properties.headers?.[HEADER_DELIVERY_COUNT] ?? 0);
      return this.giveUp(
        channel,
        message,
        payload,
        new Error(`delivered ${deliveries} times without being settled: its consumer crashed or was killed each time`),
        context,
      );
    }

    try {
      await this.options.handle(payload, context);
      safeAck(channel, message, context.logger);
      return 'ok';
    } catch (error) {
      const fate = this.fate({ type: 'failed', error }, message, context);
      if (fate.fate === 'outage_retry') return this.retryAfterOutage(channel, message, context, error, fate);
      if (fate.fate === 'give_up') return this.giveUp(channel, message, payload, error, context);
      if (fate.fate !== 'retry') throw new Error(`unexpected fate ${fate.fate} for a failed job`);
      context.logger.warn({ err: error, retryInMs: fate.delayMs }, 'job failed; retrying');
      await this.move(
        message,
        retryQueueOf(this.options.topology.queue),
        {
          [HEADER_ATTEMPTS]: fate.nextAttempt,
          [HEADER_LAST_ERROR]: describe(error),
        },
        fate.delayMs,
      );
      safeAck(channel, message, context.logger);
      return 'retried';
    }
  }

  /** Records the failure with the job's owner, then parks the message in the dead-letter queue. */
  private async giveUp(channel: Channel, message: ConsumeMessage, payload: T, error: unknown, context: JobContext): Promise<string> {
    try {
      await this.options.onGiveUp(payload, error, context);
    } catch (recordError) {
      // Could not record the failure (its database is away): keep the job, try later.
      const fate = this.fate({ type: 'give_up_unrecorded' }, message, context);
      if (fate.fate !== 'outage_retry') throw new Error(`unexpected fate ${fate.fate} for an unrecorded give-up`);
      return this.retryAfterOutage(channel, message, context, recordError, fate);
    }
    context.logger.error({ err: error }, 'job given up on; dead-lettered');
    await this.move(message, deadQueueOf(this.options.topology.queue), {
      [HEADER_ATTEMPTS]: context.attempt,
      [HEADER_LAST_ERROR]: describe(error),
    });
    safeAck(channel, message, context.logger);
    return 'dead_lettered';
  }

  /** Returns a delivery to its queue after `delayMs` (at once on stop). */
  private handBack(channel: Channel, message: ConsumeMessage, delayMs: number): void {
    if (this.stopped) {
      this.nack(channel, message);
      return;
    }
    const timer = setTimeout(() => {
      this.handingBack.delete(message);
      this.nack(channel, message);
    }, delayMs);
    this.handingBack.set(message, { channel, timer });
  }

  private nack(channel: Channel, message: ConsumeMessage): void {
    try {
      channel.nack(message, false, true);
    } catch {
      // The channel is gone: the broker has taken the delivery back already.
    }
  }

  private async retryAfterOutage(
    channel: Channel,
    message: ConsumeMessage,
    context: JobContext,
    error: unknown,
    { outages, delayMs }: { outages: number; delayMs: number },
  ): Promise<string> {
    context.logger.warn({ err: describe(error), retryInMs: delayMs, outages }, 'dependency unavailable; job retried later');
    await this.move(message, retryQueueOf(this.options.topology.queue), { [HEADER_OUTAGE_RETRIES]: outages }, delayMs);
    safeAck(channel, message, context.logger);
    return 'outage_retry';
  }

  private move(message: ConsumeMessage, queue: string, headers: Record<string, unknown>, delayMs?: number): Promise<void> {
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

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 500);
}
