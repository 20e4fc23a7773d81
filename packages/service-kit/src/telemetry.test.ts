import { propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { startTelemetry, type Telemetry } from './telemetry.js';

/** A logger whose lines land in an array instead of stdout. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'test',
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  return { logger, lines };
}

describe('telemetry', () => {
  let telemetry: Telemetry | undefined;
  afterAll(async () => telemetry?.shutdown());

  it('is off (and leaves the API a no-op) without OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const off = await startTelemetry({ service: 'test', env: {} });
    expect(off.enabled).toBe(false);
    const { logger, lines } = capturedLogger();
    trace.getTracer('test').startActiveSpan('nothing', (span) => {
      expect(span.isRecording()).toBe(false);
      logger.info('inside a no-op span');
      span.end();
    });
    expect(lines[0]).not.toHaveProperty('trace_id');
  });

  it('puts the active span’s trace_id and span_id in every log line inside it, and none outside', async () => {
    const exporter = new InMemorySpanExporter();
    telemetry = await startTelemetry({ service: 'test', env: {}, spanProcessors: [new SimpleSpanProcessor(exporter)] });
    expect(telemetry.enabled).toBe(true);
    const { logger, lines } = capturedLogger();
    const child = logger.child({ requestId: 'r-1' });

    logger.info('before');
    const ids = await trace.getTracer('test').startActiveSpan('outer', async (outer) => {
      logger.info('in outer');
      await new Promise((resolve) => setTimeout(resolve, 5));
      const inner = await trace.getTracer('test').startActiveSpan('inner', async (span) => {
        child.info('in inner, after an await, from a child logger');
        span.end();
        return span.spanContext();
      });
      outer.end();
      return { outer: outer.spanContext(), inner };
    });
    logger.info('after');

    const [before, inOuter, inInner, after] = lines;
    expect(before).not.toHaveProperty('trace_id');
    expect(after).not.toHaveProperty('trace_id');
    expect(inOuter).toMatchObject({ msg: 'in outer', trace_id: ids.outer.traceId, span_id: ids.outer.spanId });
    expect(inInner).toMatchObject({ requestId: 'r-1', trace_id: ids.outer.traceId, span_id: ids.inner.spanId });
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['inner', 'outer']);
    expect(exporter.getFinishedSpans()[0]!.resource.attributes['service.name']).toBe('test');
  });

  it('continues an incoming traceparent but forwards no baggage (a client’s, as nothing of ours sets any)', async () => {
    telemetry ??= await startTelemetry({ service: 'test', env: {}, spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] });
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const incoming = propagation.extract(ROOT_CONTEXT, { traceparent, baggage: 'user.email=someone%40example.org,session=abc' });
    const outgoing: Record<string, string> = {};
    propagation.inject(incoming, outgoing);
    expect(outgoing.traceparent).toBe(traceparent);
    expect(outgoing).not.toHaveProperty('baggage');
  });
});
