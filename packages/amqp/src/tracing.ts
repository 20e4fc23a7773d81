import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';

/**
 * W3C trace context across RabbitMQ: the publisher writes `traceparent` (and `tracestate`,
 * `baggage`) into the message headers, the consumer continues the trace from them. All of it
 * is the OpenTelemetry API, a no-op until the process starts telemetry (service-kit).
 */
export const tracer = () => trace.getTracer('@cupo/amqp');

/** A copy of `headers` with the context's trace headers written in (none when tracing is off). */
export function withTraceHeaders(headers: Record<string, unknown> | undefined, ctx: Context = context.active()): Record<string, unknown> {
  const carrier: Record<string, unknown> = { ...headers };
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The trace a message belongs to, from its headers (the root context when it carries none). */
export function traceContextOf(headers: Record<string, unknown> | undefined): Context {
  if (!headers) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, headers, {
    keys: (carrier) => Object.keys(carrier),
    get: (carrier, key) => {
      const value = carrier[key];
      if (value === undefined || value === null) return undefined;
      return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
    },
  });
}

/** Messaging attributes (OpenTelemetry semantic conventions) for a RabbitMQ message. */
export function messagingAttributes(
  operation: 'send' | 'process' | 'receive',
  exchange: string,
  routingKey: string,
  extra: Attributes = {},
): Attributes {
  return {
    'messaging.system': 'rabbitmq',
    'messaging.operation.type': operation,
    'messaging.destination.name': exchange || '(default)',
    'messaging.rabbitmq.destination.routing_key': routingKey,
    ...extra,
  };
}

/** Runs `work` in a new active span, ending it with the outcome (an error marks it failed). */
export async function inSpan<T>(
  name: string,
  options: { kind: SpanKind; attributes?: Attributes; parent?: Context },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind, attributes: options.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    failed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Marks a span failed with `error`. */
export function failed(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

export { SpanKind };
