import { createRequire } from 'node:module';
import { trace, isSpanContextValid, type Span } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** What runService holds on to: whether traces are exported, and how to flush them at exit. */
export interface Telemetry {
  enabled: boolean;
  /** Exports what is still buffered and stops; the last shutdown step. */
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  /** The service's name: the traces' `service.name`. */
  service: string;
  /** `<service>@<host>:<pid>`: the traces' `service.instance.id`. */
  instance?: string;
  env?: NodeJS.ProcessEnv;
  /** Span processors used instead of the OTLP exporter (tests); tracing is on when given. */
  spanProcessors?: SpanProcessor[];
}

const OFF: Telemetry = { enabled: false, shutdown: async () => undefined };

/** Probes and scrapes, not requests: they would bury the traces that matter. */
const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * OpenTelemetry for one process, set up before anything else the service does (runService
 * calls this first). Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: then nothing of the SDK is
 * even loaded, the API stays its own no-op, and the packages' spans cost a function call.
 *
 * On, spans go over OTLP/HTTP to the endpoint (the collector) in batches: protobuf by default,
 * JSON with OTEL_EXPORTER_OTLP_PROTOCOL=http/json. The standard OTEL_* variables apply
 * (OTEL_TRACES_SAMPLER, OTEL_BSP_SCHEDULE_DELAY, OTEL_RESOURCE_ATTRIBUTES, …). Context travels
 * as W3C trace context (no baggage): in HTTP headers, and in RabbitMQ message headers (@cupo/amqp), also
 * through the outbox (@cupo/outbox stores it with the row).
 *
 * Instrumented here: incoming HTTP and express routes, outgoing fetch (undici: the worker's
 * providers) and http, and ioredis commands. @cupo/amqp, @cupo/database and @cupo/outbox make
 * their own spans with the API. Outgoing calls, Redis commands and queries make spans only
 * inside a traced unit of work, so background loops do not flood the backend.
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const env = options.env ?? process.env;
  // The traces endpoint as the OTLP exporters' spec builds it: the signal's own URL, or the base + /v1/traces.
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || (env.OTEL_EXPORTER_OTLP_ENDPOINT ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (!url && !options.spanProcessors) return OFF;

  const [sdk, resources, semconv, core, instrumentation, http, express, ioredis, undici] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
    import('@opentelemetry/core'),
    import('@opentelemetry/instrumentation'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-express'),
    import('@opentelemetry/instrumentation-ioredis'),
    import('@opentelemetry/instrumentation-undici'),
  ]);
  let processors = options.spanProcessors;
  if (!processors) {
    const json = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL) === 'http/json';
    // Headers, timeout and compression: the exporters read OTEL_EXPORTER_OTLP_* themselves.
    const exporter = json
      ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url })
      : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter({ url });
    processors = [new sdk.BatchSpanProcessor(exporter)];
  }
  const provider = new sdk.NodeTracerProvider({
    resource: resources.defaultResource().merge(
      resources.resourceFromAttributes({
        [semconv.ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME || options.service,
        'service.namespace': 'cupo',
        ...(options.instance ? { 'service.instance.id': options.instance } : {}),
      }),
    ),
    spanProcessors: processors,
  });
  // The AsyncLocalStorage context manager and the W3C trace-context propagator. No baggage
  // propagator: nothing here sets baggage, so all it would carry is what an HTTP client sent the
  // gateway — forwarded into every message header, outbox row and third-party provider call.
  provider.register({ propagator: new core.W3CTraceContextPropagator() });
  const disable = instrumentation.registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new http.HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => OPS_PATHS.has((request.url ?? '').split('?')[0] ?? ''),
        requireParentforOutgoingSpans: true,
      }),
      new express.ExpressInstrumentation(),
      // The command's name only: by default EVAL, GET, DEL, … record every argument — the gateway's
      // idempotency entries (stored responses, keys with user ids) would reach the trace backend.
      new ioredis.IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command }),
      new undici.UndiciInstrumentation({ requireParentforSpans: true }),
    ],
  });
  // The services are ES modules that imported these before this ran; requiring them now hands
  // the loaded modules to the instrumentations, which patch their shared exports (prototypes
  // and module objects), so the ESM importers see the patched code too.
  const require = createRequire(import.meta.url);
  for (const module of ['node:http', 'node:https', 'express', 'ioredis']) require(module);

  return {
    enabled: true,
    shutdown: async () => {
      disable();
      await provider.shutdown();
    },
  };
}

/** Pino's mixin: the active span's ids in every line logged inside it (nothing outside one). */
export function traceFields(): Record<string, string> {
  const span: Span | undefined = trace.getActiveSpan();
  if (!span) return {};
  const context = span.spanContext();
  if (!isSpanContextValid(context)) return {};
  return { trace_id: context.traceId, span_id: context.spanId };
}
