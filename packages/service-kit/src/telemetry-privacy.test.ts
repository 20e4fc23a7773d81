import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Attributes, type Context } from '@opentelemetry/api';
import { InMemorySpanExporter, SamplingDecision, SimpleSpanProcessor, type Sampler } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { startTelemetry, tracesSampler, type Telemetry } from './telemetry.js';

const randomTraceId = () => randomBytes(16).toString('hex');
/** A parent that arrived from elsewhere (an HTTP header, a message header), sampled or not. */
const remoteParent = (traceId: string, sampled: boolean): Context =>
  trace.setSpanContext(ROOT_CONTEXT, {
    traceId,
    spanId: 'b7ad6b7169203331',
    traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  });
const localParent = (traceId: string, sampled: boolean): Context =>
  trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: 'b7ad6b7169203331', traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE });
/** The HTTP server span's start attributes, as instrumentation-http gives them to the sampler. */
const HTTP_SERVER: Attributes = { 'http.request.method': 'POST', 'url.path': '/api/bookings', 'url.scheme': 'http' };

function sampledShare(
  sampler: Sampler,
  runs: number,
  context: (traceId: string) => Context,
  kind: SpanKind,
  attributes: Attributes,
  traceId = randomTraceId,
) {
  let sampled = 0;
  for (let i = 0; i < runs; i++) {
    const id = traceId();
    if (sampler.shouldSample(context(id), id, 'span', kind, attributes, []).decision === SamplingDecision.RECORD_AND_SAMPLED) sampled++;
  }
  return sampled / runs;
}

describe('sampling: a client’s traceparent keeps its trace id, not its say on sampling', () => {
  const chart = { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' };

  it('samples requests arriving over HTTP with a sampled traceparent at our ratio, not all of them', async () => {
    const sampler = await tracesSampler(chart);
    const share = sampledShare(sampler, 4000, (id) => remoteParent(id, true), SpanKind.SERVER, HTTP_SERVER);
    expect(share).toBeGreaterThan(0.05);
    expect(share).toBeLessThan(0.15);
    // Nor can the client pick a trace id that a trace-id ratio would always keep.
    const chosen = '00000000000000000000000000000001';
    expect(
      sampledShare(
        sampler,
        1000,
        (id) => remoteParent(id, true),
        SpanKind.SERVER,
        HTTP_SERVER,
        () => chosen,
      ),
    ).toBeLessThan(0.2);
  });

  it('samples everything at ratio 1, whatever flag the client sent, and nothing at always_off', async () => {
    const all = await tracesSampler({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '1' });
    expect(sampledShare(all, 200, (id) => remoteParent(id, true), SpanKind.SERVER, HTTP_SERVER)).toBe(1);
    expect(sampledShare(all, 200, (id) => remoteParent(id, false), SpanKind.SERVER, HTTP_SERVER)).toBe(1);
    const byDefault = await tracesSampler({});
    expect(sampledShare(byDefault, 200, (id) => remoteParent(id, false), SpanKind.SERVER, HTTP_SERVER)).toBe(1);
    const none = await tracesSampler({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' });
    expect(sampledShare(none, 200, (id) => remoteParent(id, true), SpanKind.SERVER, HTTP_SERVER)).toBe(0);
  });

  it('keeps following the parent between our services (RPC server and consumer spans), so a trace stays whole', async () => {
    const sampler = await tracesSampler(chart);
    for (const kind of [SpanKind.SERVER, SpanKind.CONSUMER]) {
      const attributes = { 'messaging.system': 'rabbitmq' };
      expect(sampledShare(sampler, 500, (id) => remoteParent(id, true), kind, attributes)).toBe(1);
      expect(sampledShare(sampler, 500, (id) => remoteParent(id, false), kind, attributes)).toBe(0);
    }
    // In-process children follow too.
    expect(sampledShare(sampler, 500, (id) => localParent(id, true), SpanKind.CLIENT, {})).toBe(1);
    expect(sampledShare(sampler, 500, (id) => localParent(id, false), SpanKind.CLIENT, {})).toBe(0);
    // New traces (no parent): the ratio.
    const roots = sampledShare(sampler, 4000, () => ROOT_CONTEXT, SpanKind.SERVER, HTTP_SERVER);
    expect(roots).toBeGreaterThan(0.05);
    expect(roots).toBeLessThan(0.15);
  });
});

describe('span attributes carry no personal data from URLs', () => {
  let telemetry: Telemetry | undefined;
  afterAll(async () => telemetry?.shutdown());

  it('templates the user in a directory call’s path and drops query strings, on the client and the server span', async () => {
    const exporter = new InMemorySpanExporter();
    telemetry = await startTelemetry({ service: 'test', env: {}, spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const server = createServer((_request, response) => response.end('{}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const upn = 'ana.garcia@alumnos.example.org';
      await trace.getTracer('test').startActiveSpan('ingest', async (span) => {
        // As the worker's directory provider asks (graph-directory.ts), plus a query string.
        const response = await fetch(
          `http://127.0.0.1:${port}/v1.0/users/${encodeURIComponent(upn)}?$filter=mail eq '${upn}'&search=garcia`,
        );
        await response.text();
        span.end();
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const spans = exporter.getFinishedSpans();
    const client = spans.find((span) => span.kind === SpanKind.CLIENT);
    const serverSpan = spans.find((span) => span.kind === SpanKind.SERVER);
    expect(client?.attributes['url.full']).toBe(`http://127.0.0.1:${port}/v1.0/users/{id}`);
    expect(client?.attributes['url.path']).toBe('/v1.0/users/{id}');
    expect(serverSpan?.attributes['url.path']).toBe('/v1.0/users/{id}');
    for (const span of spans) {
      expect(span.attributes).not.toHaveProperty('url.query');
      const text = JSON.stringify({ name: span.name, attributes: span.attributes });
      for (const leak of ['ana.garcia', 'alumnos.example.org', '%40', 'garcia', 'filter', 'search']) expect(text).not.toContain(leak);
    }
  });
});
