import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { Histogram, Registry } from 'prom-client';
import type { PayloadOf, ReplyOf, RpcCommand } from '@cupo/contracts';
import { isRefusal, isTransient } from '@cupo/errors';
import { safeAck } from './ack.js';
import { sharedHistogram } from './shared-metrics.js';
import {
  HEADER_DEADLINE,
  HEADER_REQUEST_ID,
  RPC_EXCHANGE,
  RPC_LATENCY_BUCKETS,
  errorReply,
  PayloadInvalidError,
  UnknownCommandError,
  type RpcReply,
} from './envelope.js';
import { SupervisedChannel } from './supervised-channel.js';
import { context as otel, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { messagingAttributes, SpanKind, traceContextOf, tracer } from './tracing.js';

/** Anything with zod's `safeParse` shape: a job consumer validates its messages without depending on zod. */
export interface PayloadSchema<T> {
  safeParse(
    input: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> } };
}

export interface RpcContext {
  requestId: string;
  /** Epoch ms after which the caller no longer waits for the answer. */
  deadline: number;
  /** The broker delivered this message before (a consumer died or the channel closed). */
  redelivered: boolean;
  logger: Logger;
}

/** What a server answers `command` with: its payload parsed by the command's request schema. */
export interface RpcHandler<C extends RpcCommand = RpcCommand> {
  command: C;
  // A method, not a function property: a list of handlers of different commands is an RpcHandler[].
  handle(payload: PayloadOf<C>, context: RpcContext): Promise<ReplyOf<C>>;
}

/** Declares the handler of `command`: the payload's type and the reply's come from the command. */
export function rpcHandler<C extends RpcCommand>(
  command: C,
  handle: (payload: PayloadOf<C>, context: RpcContext) => Promise<ReplyOf<C>>,
): RpcHandler<C> {
  return { command, handle };
}

export interface RpcServerOptions {
  /** The service's durable command queue, e.g. `booking.rpc`. */
  queue: string;
  /**
   * Serve a fanout exchange instead: every replica gets its own exclusive queue, so each
   * one answers (for per-process state such as circuit breakers). `queue` then only names
   * the channel.
   */
  broadcastExchange?: string;
  /** One per command, each under the command's name. */
  handlers: readonly RpcHandler[];
  /** How many commands one replica works on at once. */
  prefetch: number;
  logger: Logger;
  registry: Registry;
}

/**
 * Serves RPC commands from one durable queue. A command is acked only after its reply is
 * sent, so a replica that dies mid-command hands it back to the broker and another replica
 * runs it again: every handler must be idempotent.
 */
export class RpcServer {
  private channel: SupervisedChannel | undefined;
  private current: { channel: Channel; consumerTag: string } | undefined;
  private stopped = false;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private readonly duration: Histogram<'command' | 'outcome'>;

  private readonly handlers = new Map<string, RpcHandler>();

  constructor(
    private readonly connection: AmqpConnectionManager,
    private readonly options: RpcServerOptions,
  ) {
    for (const handler of options.handlers) {
      if (this.handlers.has(handler.command.name)) throw new Error(`two handlers for ${handler.command.name}`);
      this.handlers.set(handler.command.name, handler);
    }
    // Several servers in one process (commands and broadcasts) share the one histogram.
    this.duration = sharedHistogram(options.registry, {
      name: 'rpc_server_duration_seconds',
      help: 'Time spent handling an RPC command, by command and outcome',
      labelNames: ['command', 'outcome'],
      buckets: RPC_LATENCY_BUCKETS,
    });
  }

  start(): Promise<void> {
    const { queue, prefetch } = this.options;
    this.channel = new SupervisedChannel(this.connection, {
      name: `rpc-server:${queue}`,
      confirm: false,
      logger: this.options.logger,
      setup: async (channel: Channel) => {
        if (this.stopped) return;
        let source = queue;
        const broadcast = this.options.broadcastExchange;
        if (broadcast) {
          await channel.assertExchange(broadcast, 'fanout', { durable: true });
          source = (await channel.assertQueue('', { exclusive: true, autoDelete: true })).queue;
          await channel.bindQueue(source, broadcast, '');
        } else {
          await channel.assertExchange(RPC_EXCHANGE, 'direct', { durable: true });
          await channel.assertQueue(queue, { durable: true });
          for (const command of this.handlers.keys()) {
            await channel.bindQueue(queue, RPC_EXCHANGE, command);
          }
        }
        await channel.prefetch(prefetch);
        const { consumerTag } = await channel.consume(source, (message) => {
          // null: the broker cancelled the consumer (its queue was deleted or redeclared).
          if (message) void this.handle(channel, message);
          else this.channel?.detach(channel, 'consumer cancelled by the broker');
        });
        this.current = { channel, consumerTag };
      },
    });
    return this.channel.waitForConnect();
  }

  /** Stops taking commands, waits for the ones in hand to finish, then closes the channel. */
  async stop(drainTimeoutMs = 10_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.current) {
      await this.current.channel.cancel(this.current.consumerTag).catch(() => undefined);
    }
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        setTimeout(resolve, drainTimeoutMs).unref();
      });
    }
    await this.channel?.close();
  }

  /** A server span per command, continuing the caller's trace from the message headers. */
  private handle(channel: Channel, message: ConsumeMessage): Promise<void> {
    const parent = traceContextOf(message.properties.headers);
    const command = message.fields.routingKey;
    const span = tracer().startSpan(
      command,
      {
        kind: SpanKind.SERVER,
        attributes: messagingAttributes('process', message.fields.exchange, command, {
          'rpc.system': 'cupo-amqp',
          'rpc.method': command,
          'messaging.destination.subscription.name': this.options.queue,
        }),
      },
      parent,
    );
    return otel.with(trace.setSpan(parent, span), () => this.serve(channel, message, span)).finally(() => span.end());
  }

  private async serve(channel: Channel, message: ConsumeMessage, span: Span): Promise<void> {
    this.inFlight += 1;
    const started = process.hrtime.bigint();
    const command = message.fields.routingKey;
    const headers = message.properties.headers ?? {};
    const requestId = String(headers[HEADER_REQUEST_ID] ?? message.properties.correlationId ?? '');
    const deadline = Number(headers[HEADER_DEADLINE] ?? Number.MAX_SAFE_INTEGER);
    const logger = this.options.logger.child({ requestId, command });
    let outcome = 'ok';
    try {
      if (Date.now() > deadline) {
        // The caller has answered its client already; doing the work now would only surprise.
        outcome = 'expired';
        logger.warn({ redelivered: message.fields.redelivered }, 'command past its deadline; dropped');
        safeAck(channel, message, logger);
        return;
      }
      const reply = await this.run(command, message, {
        requestId,
        deadline,
        redelivered: message.fields.redelivered,
        logger,
      });
      if (!reply.ok) outcome = reply.error.code;
      const replyTo = message.properties.replyTo as string | undefined;
      if (replyTo) {
        channel.publish('', replyTo, Buffer.from(JSON.stringify(reply)), {
          correlationId: message.properties.correlationId,
          contentType: 'application/json',
        });
      }
      safeAck(channel, message, logger);
    } catch (error) {
      // Only the transport itself can land here (the channel closed under us): the broker
      // redelivers the unacked command, and the handler is idempotent.
      outcome = 'transport_error';
      logger.error({ err: error }, 'could not reply to command');
    } finally {
      span.setAttribute('cupo.rpc.outcome', outcome);
      if (outcome === 'transport_error' || outcome === 'INTERNAL_ERROR') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // A name no handler serves (anything can be published to a broadcast exchange) is one
      // label, `unknown`: the histogram's series stay as many as the commands this server has.
      this.duration.observe({ command: this.handlers.has(command) ? command : 'unknown', outcome }, seconds);
      logger.info({ outcome, ms: Math.round(seconds * 10_000) / 10, redelivered: message.fields.redelivered }, 'command handled');
      this.inFlight -= 1;
      if (this.inFlight === 0) this.drained?.();
    }
  }

  private async run(command: string, message: ConsumeMessage, context: RpcContext): Promise<RpcReply> {
    const handler = this.handlers.get(command);
    try {
      if (!handler) throw new UnknownCommandError(command);
      const parsed = handler.command.request.safeParse(JSON.parse(message.content.toString('utf8')));
      if (!parsed.success) {
        throw new PayloadInvalidError(
          parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
        );
      }
      return { ok: true, result: await handler.handle(parsed.data, context) };
    } catch (error) {
      // A refusal or a transient error is the caller's answer; anything else is a fault.
      if (!isRefusal(error) && !isTransient(error)) {
        context.logger.error({ err: error }, 'command failed unexpectedly');
      }
      return errorReply(error);
    }
  }
}
