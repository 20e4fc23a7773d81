import { createRequire } from 'node:module';
import {
  trace,
  isSpanContextValid,
  SpanKind,
  type Attributes,
  type AttributeValue,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import type { ReadableSpan, Sampler, SamplingResult, SpanProcessor } from '@opentelemetry/sdk-trace-base';

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
 * (OTEL_TRACES_SAMPLER — read by tracesSampler, below —, OTEL_BSP_SCHEDULE_DELAY,
 * OTEL_RESOURCE_ATTRIBUTES, …). No URL reaches the backend with its query string or with
 * personal data in its path (scrubbedAttributes, below). Context travels
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
  const url =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ||
    (env.OTEL_EXPORTER_OTLP_ENDPOINT ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces` : undefined);
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
    sampler: await tracesSampler(env),
    // Every span passes the URL scrubber on its way to the exporter (or the test's processors).
    spanProcessors: [new ScrubbingProcessor(processors)],
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

/**
 * The sampler OTEL_TRACES_SAMPLER/_ARG name (as the SDK reads them; default
 * parentbased_always_on), with one change: a request arriving over HTTP with a `traceparent`
 * keeps its trace id, but its sampled flag decides nothing. Our HTTP servers are the edge
 * (the gateway's public API; the others serve only probes and metrics, which make no spans),
 * so that flag is a client's: honoured, any client could have every request it sends traced
 * (load on the backend), and a trace-id ratio is no defence either, as the client picks the
 * id. Those requests are sampled at random at the configured ratio (1: all of them, as
 * before). Spans under a remote parent that arrived otherwise — RabbitMQ headers between our
 * services (the RPC server spans, the consumers) — follow the parent's decision, so a trace
 * sampled at the gateway stays whole.
 */
export async function tracesSampler(env: NodeJS.ProcessEnv = process.env): Promise<Sampler> {
  const base = await import('@opentelemetry/sdk-trace-base');
  const known = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];
  const asked = (env.OTEL_TRACES_SAMPLER ?? '').trim().toLowerCase();
  // An unknown name falls back to the SDK's default, as the SDK does; so does a ratio out of [0, 1].
  const name = known.includes(asked) ? asked : 'parentbased_always_on';
  const given = env.OTEL_TRACES_SAMPLER_ARG?.trim() ? Number(env.OTEL_TRACES_SAMPLER_ARG) : Number.NaN;
  const byRatio = name.endsWith('traceidratio');
  const ratio = name.endsWith('always_off') ? 0 : byRatio && given >= 0 && given <= 1 ? given : 1;
  const root = name.endsWith('always_off')
    ? new base.AlwaysOffSampler()
    : byRatio
      ? new base.TraceIdRatioBasedSampler(ratio)
      : new base.AlwaysOnSampler();
  const inner = name.startsWith('parentbased_') ? new base.ParentBasedSampler({ root }) : root;
  const sampled: SamplingResult = { decision: base.SamplingDecision.RECORD_AND_SAMPLED };
  const dropped: SamplingResult = { decision: base.SamplingDecision.NOT_RECORD };
  return {
    shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]) {
      const parent = trace.getSpanContext(context);
      const fromHttpClient = spanKind === SpanKind.SERVER && attributes['http.request.method'] !== undefined;
      if (fromHttpClient && parent && parent.isRemote && isSpanContextValid(parent)) return Math.random() < ratio ? sampled : dropped;
      return inner.shouldSample(context, traceId, spanName, spanKind, attributes, links);
    },
    toString: () => `EdgeDecides{ratio=${ratio}, ${inner.toString()}}`,
  };
}

/** URL attributes (current and older semantic conventions) whose paths and queries are scrubbed. */
const FULL_URL_ATTRIBUTES = ['url.full', 'http.url'];
const PATH_ATTRIBUTES = ['url.path', 'http.target', 'url.original'];
const QUERY_ATTRIBUTES = ['url.query'];

/**
 * A path with its personal data replaced: the segment after `users` (the worker's directory
 * calls `/v1.0/users/<upn>`, an e-mail-like name) and any segment holding an `@` become `{id}`.
 */
export function redactedPath(path: string): string {
  const segments = (path.split('?')[0] ?? '').split('/');
  return segments
    .map((segment, index) => (segment && ((index > 0 && segments[index - 1] === 'users') || /@|%40/i.test(segment)) ? '{id}' : segment))
    .join('/');
}

function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${redactedPath(parsed.pathname)}`;
  } catch {
    return redactedPath(url);
  }
}

/**
 * Span attributes fit for the trace backend: URLs without query strings (search terms, e-mail
 * addresses, tokens) and without personal data in their paths (redactedPath). `http.route`, the
 * route's template, stays.
 */
export function scrubbedAttributes(attributes: Attributes): Attributes {
  const scrubbed: Attributes = { ...attributes };
  const rewrite = (keys: string[], change: (value: string) => AttributeValue | undefined) => {
    for (const key of keys) {
      const value = scrubbed[key];
      if (typeof value !== 'string') continue;
      const changed = change(value);
      if (changed === undefined) delete scrubbed[key];
      else scrubbed[key] = changed;
    }
  };
  rewrite(FULL_URL_ATTRIBUTES, redactedUrl);
  rewrite(PATH_ATTRIBUTES, redactedPath);
  rewrite(QUERY_ATTRIBUTES, () => undefined);
  return scrubbed;
}

/** Hands each ended span to `processors` with its attributes scrubbed (scrubbedAttributes). */
class ScrubbingProcessor implements SpanProcessor {
  constructor(private readonly processors: SpanProcessor[]) {}
  onStart(...args: Parameters<SpanProcessor['onStart']>): void {
    for (const processor of this.processors) processor.onStart(...args);
  }
  onEnding(...args: Parameters<NonNullable<SpanProcessor['onEnding']>>): void {
    for (const processor of this.processors) processor.onEnding?.(...args);
  }
  onEnd(span: ReadableSpan): void {
    // The span itself, but for its attributes (the rest read through to it).
    const scrubbed = Object.create(span, { attributes: { value: scrubbedAttributes(span.attributes), enumerable: true } }) as ReadableSpan;
    for (const processor of this.processors) processor.onEnd(scrubbed);
  }
  async forceFlush(): Promise<void> {
    await Promise.all(this.processors.map((processor) => processor.forceFlush()));
  }
  async shutdown(): Promise<void> {
    await Promise.all(this.processors.map((processor) => processor.shutdown()));
  }
}

/** Pino's mixin: the active span's ids in every line logged inside it (nothing outside one). */
export function traceFields(): Record<string, string> {
  const span: Span | undefined = trace.getActiveSpan();
  if (!span) return {};
  const context = span.spanContext();
  if (!isSpanContextValid(context)) return {};
  return { trace_id: context.traceId, span_id: context.spanId };
}
