import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { createPool, databaseUrlFor, tracingEnabled, type Sql } from '@cupo/database';
import { defaultUrls } from '@cupo/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * porsager/postgres has no instrumentation: @cupo/database wraps the pool (tracing.ts). Against
 * the real server: each query sent inside a traced unit of work is a span, a transaction is a
 * span over its queries, fragments are no spans, values are never recorded.
 */
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const url = databaseUrlFor(defaultUrls().pgUrl, 'postgres');
let untraced: Sql;
let sql: Sql;

beforeAll(() => {
  // Made before telemetry starts: the plain pool, as in a process with tracing off.
  expect(tracingEnabled()).toBe(false);
  untraced = createPool({ url, max: 2, applicationName: 'traced-pool-it' });
  provider.register();
  expect(tracingEnabled()).toBe(true);
  sql = createPool({ url, max: 2, applicationName: 'traced-pool-it' });
});

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await untraced?.end({ timeout: 5 });
  await provider.shutdown();
});

const inUnit = <T>(work: () => Promise<T>) =>
  trace.getTracer('it').startActiveSpan('unit', async (span) => {
    try {
      return await work();
    } finally {
      span.end();
    }
  });

const spans = () => exporter.getFinishedSpans();

describe('the traced pool', () => {
  it('makes a client span per query and a transaction span over its queries; fragments are none; values stay out', async () => {
    exporter.reset();
    await inUnit(async () => {
      await sql`SELECT ${'secret-value'}::text AS v`;
      await sql.begin(async (tx) => {
        const where = tx`WHERE n = ${41}`;
        await tx`SELECT n FROM (SELECT 41 AS n) t ${where}`;
        await Promise.all([tx`SELECT 1`, tx`SELECT 2`]);
      });
    });
    const all = spans();
    const unit = all.find((s) => s.name === 'unit')!;
    const transaction = all.find((s) => s.name === 'transaction')!;
    const queries = all.filter((s) => s.attributes['db.system.name'] === 'postgresql' && s.name !== 'transaction');
    expect(queries.map((q) => q.attributes['db.query.text'])).toEqual([
      'SELECT $1::text AS v',
      'SELECT n FROM (SELECT 41 AS n) t $1',
      'SELECT 1',
      'SELECT 2',
    ]);
    expect(queries[0]!.parentSpanContext?.spanId).toBe(unit.spanContext().spanId);
    expect(transaction.parentSpanContext?.spanId).toBe(unit.spanContext().spanId);
    for (const query of queries.slice(1)) expect(query.parentSpanContext?.spanId).toBe(transaction.spanContext().spanId);
    expect(queries[0]!.name).toBe('SELECT postgres');
    expect(JSON.stringify(all.map((s) => s.attributes))).not.toContain('secret-value');
  });

  it('marks a failed query with its SQLSTATE, and a transaction that rolled back', async () => {
    exporter.reset();
    await inUnit(async () => {
      await expect(sql.begin((tx) => tx`SELEC nope`)).rejects.toThrow();
    });
    const failed = spans().find((s) => s.attributes['db.query.text'] === 'SELEC nope')!;
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.attributes['db.response.status_code']).toBe('42601');
    expect(spans().find((s) => s.name === 'transaction')!.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('makes no spans outside a traced unit of work (background loops), nor from a pool made before telemetry', async () => {
    exporter.reset();
    await sql`SELECT 1`;
    await sql.begin((tx) => tx`SELECT 1`);
    await inUnit(() => untraced`SELECT 1`);
    expect(spans().map((s) => s.name)).toEqual(['unit']);
  });
});
