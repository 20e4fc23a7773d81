import { randomUUID } from 'node:crypto';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel, ConsumeMessage, Message } from 'amqplib';
import type { Logger } from 'pino';
import { Histogram, type Registry } from 'prom-client';
import type { ReplyOf, RequestOf, RpcCommand } from '@cupo/contracts';
import { DependencyUnavailableError, DomainError, fromErrorBody } from '@cupo/errors';
import {
  HEADER_DEADLINE,
  HEADER_REQUEST_ID,
  RPC_EXCHANGE,
  RPC_LATENCY_BUCKETS,
  ReplyInvalidError,
  RpcTimeoutError,
  RpcUnroutableError,
  type RpcReply,
} from './envelope.js';
import { SupervisedChannel } from './supervised-channel.js';
import { inSpan, messagingAttributes, SpanKind, withTraceHeaders } from './tracing.js';

/** RabbitMQ's pseudo-queue for direct reply-to: replies go straight to this channel's consumer. */
const REPLY_TO = 'amq.rabbitmq.reply-to';

export interface RpcCallOptions {
  requestId: string;
  /** Overrides the client's default deadline for this call. */
  timeoutMs?: number;
}

interface Gathering {
  replies: unknown[];
  errors: Error[];
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Request/reply over RabbitMQ with direct reply-to: no reply queue to declare or clean up.
 * Each call has a deadline; it travels as the message expiration (so a request nobody
 * picked up in time is dropped instead of being served late) and as a header (so a server
 * can refuse work whose caller has already given up).
 */
export class RpcClient {
  private readonly channel: SupervisedChannel;
  private readonly pending = new Map<string, Pending>();
  private readonly gathering = new Map<string, Gathering>();
  private readonly fanouts = new Set<string>();
  private readonly duration: Histogram<'command' | 'outcome'>;

  constructor(
    private readonly connection: AmqpConnectionManager,
    private readonly options: { defaultTimeoutMs: number; logger: Logger; registry: Registry },
  ) {
    this.duration = new Histogram({
      name: 'rpc_client_duration_seconds',
      help: 'Time from sending an RPC command to its reply, by command and outcome',
      labelNames: ['command', 'outcome'],
      buckets: RPC_LATENCY_BUCKETS,
      registers: [options.registry],
    });
    this.channel = new SupervisedChannel(connection, {
      name: 'rpc-client',
      confirm: false,
      // A command that cannot even be sent within the default deadline has missed it anyway.
      publishTimeoutMs: options.defaultTimeoutMs,
      logger: options.logger,
      setup: async (channel: Channel) => {
        await channel.assertExchange(RPC_EXCHANGE, 'direct', { durable: true });
        for (const exchange of this.fanouts) await channel.assertExchange(exchange, 'fanout', { durable: true });
        // A command no queue is bound for comes back at once instead of timing out.
        channel.on('return', (message: Message) => this.onReturned(message));
        // Direct reply-to belongs to this channel: replies for calls sent on it can never
        // arrive once it closes, so those calls fail now instead of at their deadline.
        channel.once('close', () => this.failAll('RabbitMQ channel closed'));
        await channel.consume(REPLY_TO, (message) => this.onReply(message), { noAck: true });
      },
    });
    connection.on('disconnect', () => this.failAll('RabbitMQ connection lost'));
  }

  /** Resolves once the reply consumer is attached (or rejects after `timeoutMs`). */
  async ready(timeoutMs = 10_000): Promise<void> {
    await Promise.race([
      this.channel.waitForConnect(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('RabbitMQ not reachable')), timeoutMs).unref()),
    ]);
  }

  /**
   * Sends `command` and resolves with its reply, checked against the command's reply schema. The
   * reply is handed on as it came, not as the schema would rebuild it: a field this caller's
   * contract does not know yet (a newer server, mid-upgrade) passes through, as protobuf keeps
   * unknown fields.
   */
  async call<C extends RpcCommand>(rpc: C, payload: RequestOf<C>, options: RpcCallOptions): Promise<ReplyOf<C>> {
    // A client span per call; its context travels in the command's headers to the server.
    return inSpan(
      rpc.name,
      {
        kind: SpanKind.CLIENT,
        attributes: messagingAttributes('send', RPC_EXCHANGE, rpc.name, { 'rpc.system': 'cupo-amqp', 'rpc.method': rpc.name }),
      },
      () => this.send(rpc, payload, options),
    );
  }

  private async send<C extends RpcCommand>(rpc: C, payload: RequestOf<C>, options: RpcCallOptions): Promise<ReplyOf<C>> {
    const command = rpc.name;
    const timeoutMs = options.timeoutMs ?? this.options.defaultTimeoutMs;
    const started = process.hrtime.bigint();
    const observe = (outcome: string) => this.duration.observe({ command, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
    if (!this.connection.isConnected() || !this.channel.isAttached()) {
      observe('unavailable');
      throw new DependencyUnavailableError('RabbitMQ');
    }
    const correlationId = randomUUID();
    const reply = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new RpcTimeoutError(command, timeoutMs));
      }, timeoutMs);
      this.pending.set(correlationId, { resolve, reject, timer });
    });
    // Not awaited: the reply (or the deadline, or a failed publish settling it) decides. Awaiting
    // the publish first left the deadline's rejection unhandled while a blocked publish waited.
    this.channel.current
      .publish(RPC_EXCHANGE, command, Buffer.from(JSON.stringify(payload)), {
        correlationId,
        replyTo: REPLY_TO,
        mandatory: true,
        persistent: false,
        contentType: 'application/json',
        type: command,
        expiration: String(timeoutMs),
        headers: withTraceHeaders({
          [HEADER_REQUEST_ID]: options.requestId,
          [HEADER_DEADLINE]: Date.now() + timeoutMs,
        }),
      })
      .catch((error: unknown) => this.settle(correlationId, new DependencyUnavailableError('RabbitMQ', error)));
    try {
      const result = this.checked(rpc, await reply);
      observe('ok');
      return result;
    } catch (error) {
      observe(error instanceof DomainError ? error.code : 'error');
      throw error;
    }
  }

  /**
   * Scatter-gather: sends one command to a fanout exchange and collects every replica's
   * answer that arrives within `windowMs`. Used for per-process state (circuit breakers);
   * a replica too slow to answer in the window is simply missing from the result.
   */
  async gather<C extends RpcCommand>(
    exchange: string,
    rpc: C,
    payload: RequestOf<C>,
    options: RpcCallOptions & { windowMs: number },
  ): Promise<{ replies: ReplyOf<C>[]; errors: Error[] }> {
    const command = rpc.name;
    if (!this.connection.isConnected() || !this.channel.isAttached()) throw new DependencyUnavailableError('RabbitMQ');
    if (!this.fanouts.has(exchange)) {
      // Publishing to an undeclared exchange would close the channel: declare it first (the
      // setup declares every known one again on each new channel).
      await this.channel.current.addSetup((channel: Channel) => channel.assertExchange(exchange, 'fanout', { durable: true }));
      this.fanouts.add(exchange);
    }
    const correlationId = randomUUID();
    const gathering: Gathering = { replies: [], errors: [] };
    this.gathering.set(correlationId, gathering);
    try {
      await this.channel.current.publish(exchange, command, Buffer.from(JSON.stringify(payload)), {
        correlationId,
        replyTo: REPLY_TO,
        persistent: false,
        contentType: 'application/json',
        type: command,
        expiration: String(options.windowMs),
        headers: withTraceHeaders({
          [HEADER_REQUEST_ID]: options.requestId,
          [HEADER_DEADLINE]: Date.now() + options.windowMs,
        }),
      });
      await new Promise((resolve) => setTimeout(resolve, options.windowMs));
    } catch (error) {
      throw new DependencyUnavailableError('RabbitMQ', error);
    } finally {
      this.gathering.delete(correlationId);
    }
    const replies: ReplyOf<C>[] = [];
    const errors = [...gathering.errors];
    for (const reply of gathering.replies) {
      try {
        replies.push(this.checked(rpc, reply));
      } catch (error) {
        errors.push(error as Error);
      }
    }
    return { replies, errors };
  }

  /** The reply if it matches the command's reply schema; a reply that does not is a fault of its sender. */
  private checked<C extends RpcCommand>(rpc: C, reply: unknown): ReplyOf<C> {
    const check = rpc.reply.safeParse(reply);
    if (check.success) return reply as ReplyOf<C>;
    const problems = check.error.issues.slice(0, 5).map((issue) => `${issue.path.map(String).join('.') || '(reply)'}: ${issue.message}`);
    this.options.logger.error({ command: rpc.name, problems }, 'RPC reply does not match its contract');
    throw new ReplyInvalidError(rpc.name);
  }

  async close(): Promise<void> {
    this.failAll('RPC client closed');
    await this.channel.close();
  }

  private onReply(message: ConsumeMessage | null): void {
    if (!message) return;
    const correlationId = message.properties.correlationId as string | undefined;
    if (!correlationId) return;
    let reply: RpcReply;
    try {
      reply = JSON.parse(message.content.toString('utf8')) as RpcReply;
    } catch (error) {
      this.options.logger.error({ err: error, correlationId }, 'unparseable RPC reply');
      return;
    }
    const gathering = this.gathering.get(correlationId);
    if (gathering) {
      if (reply.ok) gathering.replies.push(reply.result);
      else gathering.errors.push(fromErrorBody(reply.error));
      return;
    }
    // A late reply (its caller timed out) finds no pending entry and is dropped.
    if (reply.ok) this.settle(correlationId, undefined, reply.result);
    else this.settle(correlationId, fromErrorBody(reply.error));
  }

  private onReturned(message: Message): void {
    const correlationId = message.properties.correlationId as string | undefined;
    const command = (message.properties.type as string | undefined) ?? message.fields.routingKey;
    if (correlationId) this.settle(correlationId, new RpcUnroutableError(command));
  }

  private settle(correlationId: string, error?: Error, result?: unknown): void {
    const pending = this.pending.get(correlationId);
    if (!pending) return;
    this.pending.delete(correlationId);
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(result);
  }

  private failAll(reason: string): void {
    for (const id of [...this.pending.keys()]) {
      this.settle(id, new DependencyUnavailableError(`RabbitMQ (${reason})`));
    }
  }
}
