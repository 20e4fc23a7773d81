import http from 'node:http';

/**
 * The load generators' HTTP client (make bench, make capacity): node:http over keep-alive sockets, one per concurrent caller.
 *
 * Not `fetch`: on this machine undici's fetch cost the load generator about 1 ms of CPU per
 * request, on the same two cores as the system under test; node:http costs about a third of
 * that, so less of what the figures measure is the client itself. (k6 runs on its own host.)
 */
export interface Reply {
  status: number;
  ms: number;
  body: unknown;
}

export function httpClient(baseUrl: string, options: { maxSockets?: number; timeoutMs?: number } = {}) {
  const base = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 256 });
  const request = (method: string, path: string, token: string | undefined, body?: unknown) =>
    new Promise<Reply>((resolve, reject) => {
      const started = performance.now();
      const data = body === undefined ? undefined : JSON.stringify(body);
      const headers: http.OutgoingHttpHeaders = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (data !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(data);
      }
      const req = http.request({ host: base.hostname, port: base.port, path, method, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const isJson = (res.headers['content-type'] ?? '').includes('json');
          resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, body: isJson && text ? JSON.parse(text) : text });
        });
      });
      req.on('error', reject);
      if (options.timeoutMs) req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
      req.end(data);
    });
  return { request, close: () => agent.destroy() };
}
