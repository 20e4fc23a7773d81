import express, { type Express, type Request, type Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { requestId } from './request-id.js';

/** A readiness check resolves when its dependency answers and rejects otherwise. */
export type ReadinessCheck = () => Promise<void>;

export interface HealthOptions {
  registry: Registry;
  checks: Record<string, ReadinessCheck>;
  /** Returns false while the process is draining: readiness fails before anything closes. */
  isAccepting: () => boolean;
  checkTimeoutMs?: number;
}

/**
 * Mounts `/healthz` (the process is alive), `/readyz` (every dependency answers; 503 with
 * the failing ones otherwise) and `/metrics` (Prometheus text) on an express app.
 */
export function mountHealthRoutes(app: Express, options: HealthOptions): void {
  const timeoutMs = options.checkTimeoutMs ?? 2_000;

  app.get('/healthz', (_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req: Request, res: Response) => {
    if (!options.isAccepting()) {
      res.status(503).json({ status: 'draining', checks: {} });
      return;
    }
    const entries = await Promise.all(
      Object.entries(options.checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), timeoutMs);
          return [name, 'ok'] as const;
        } catch (error) {
          return [name, error instanceof Error ? error.message : String(error)] as const;
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    const ready = entries.every(([, state]) => state === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });

  app.get('/metrics', async (_req: Request, res: Response) => {
    res.type(options.registry.contentType).send(await options.registry.metrics());
  });
}

/** A small HTTP server for services whose only HTTP surface is health and metrics. */
export async function startOpsServer(
  options: HealthOptions & { port: number; host?: string; logger: Logger },
): Promise<{ server: Server; port: number }> {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestId());
  mountHealthRoutes(app, options);
  return listen(app, options.port, options.host ?? '0.0.0.0', options.logger);
}

export function listen(app: Express, port: number, host: string, logger: Logger): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('error', reject);
    server.on('clientError', answerMalformedRequest);
    server.once('listening', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      // Keep-alive longer than typical load balancers' idle timeout avoids resets on reuse.
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 66_000;
      logger.info({ port: bound }, 'http listening');
      resolve({ server, port: bound });
    });
  });
}

/**
 * A request Node's HTTP parser refuses (a control character in a header such as
 * Idempotency-Key, a malformed request line, oversized headers) never reaches express; Node
 * would answer a bare `400` with no body. Answer it as every other error: problem+json.
 */
function answerMalformedRequest(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, title, code] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE']
      : [400, 'Bad Request', 'VALIDATION_FAILED'];
  const body = JSON.stringify({
    type: `urn:cupo:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title,
    status,
    detail: 'The request is not valid HTTP (a control character in a header, a malformed request line or oversized headers)',
    code,
  });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${randomUUID()}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
