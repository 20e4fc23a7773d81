import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startTelemetry, type Telemetry } from '@cupo/service-kit';
import { defaultUrls } from '@cupo/stack';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Redis commands made inside a traced unit of work are spans (instrumentation-ioredis), and, as
 * with the queries, their values stay out of them: the library's default records every argument
 * of EVAL, GET, DEL, … — the gateway's idempotency entry (the stored response, with the user's
 * data) and its key (with the user id) would land in the trace backend.
 */
const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
let redis: Redis;
const key = `test:traced-redis:${crypto.randomUUID()}:user-RA123`;
const secret = JSON.stringify({ response: { body: { email: 'someone@example.org' } } });

beforeAll(async () => {
  telemetry = await startTelemetry({ service: 'test', env: {}, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  redis = new Redis(defaultUrls().redisUrl, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  await redis?.del(key);
  redis?.disconnect();
  await telemetry?.shutdown();
});

describe('traced Redis commands', () => {
  it('are spans naming the command, never its keys or values', async () => {
    await trace.getTracer('it').startActiveSpan('unit', async (span) => {
      await redis.eval("redis.call('SET', KEYS[1], ARGV[1]) return 1", 1, key, secret);
      await redis.get(key);
      await redis.del(key);
      span.end();
    });
    const commands = exporter.getFinishedSpans().filter((s) => s.name !== 'unit');
    expect(commands.map((s) => s.name)).toEqual(['eval', 'get', 'del']);
    const recorded = JSON.stringify(commands.map((s) => s.attributes));
    expect(recorded).not.toContain('someone@example.org');
    expect(recorded).not.toContain('RA123');
  });
});
