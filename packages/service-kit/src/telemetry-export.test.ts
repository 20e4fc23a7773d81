import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTelemetry } from './telemetry.js';

/**
 * The production path: with only OTEL_EXPORTER_OTLP_ENDPOINT set, spans leave as OTLP/HTTP
 * protobuf (the default protocol) in a POST to <endpoint>/v1/traces, flushed at shutdown.
 * (Protobuf writes strings as their UTF-8 bytes, so the names are found in the body.)
 */
const received: { path: string; type: string; body: Buffer }[] = [];
const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    received.push({ path: request.url ?? '', type: request.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
    response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  await new Promise((resolve) => server.close(resolve));
});

it('exports spans over OTLP/HTTP protobuf to the endpoint, flushing them at shutdown', async () => {
  const telemetry = await startTelemetry({ service: 'export-probe', instance: 'export-probe@test:1' });
  expect(telemetry.enabled).toBe(true);
  trace.getTracer('test').startActiveSpan('probe-span-name', (span) => span.end());
  await telemetry.shutdown();
  expect(received.length).toBeGreaterThan(0);
  const [post] = received;
  expect(post!.path).toBe('/v1/traces');
  expect(post!.type).toBe('application/x-protobuf');
  const body = post!.body.toString('latin1');
  expect(body).toContain('probe-span-name');
  expect(body).toContain('export-probe');
  expect(body).toContain('export-probe@test:1');
});
