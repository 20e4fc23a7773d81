import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, startTestStack, token, type TestStack } from './support.js';

const openapi = parse(readFileSync(fileURLToPath(new URL('../../openapi.yaml', import.meta.url)), 'utf8')) as {
  paths: Record<string, Record<string, unknown> & { servers?: { url: string }[] }>;
};
/** Paths documented on a server of their own: the gateway's ops port (/readyz, /metrics). */
const onOpsPort = new Set(
  Object.entries(openapi.paths)
    .filter(([, item]) => item.servers?.some((s) => s.url.endsWith(':9090')))
    .map(([path]) => path),
);
const contractFile = fileURLToPath(new URL('../../../shared/CONTRACT.md', import.meta.url));
const METHODS = ['get', 'post', 'put', 'delete', 'patch'];

/** The `| METHOD | path |` rows of one contract section, as `get /api/rooms/{id}`. */
function contractRoutes(section: string): string[] {
  const text = readFileSync(contractFile, 'utf8');
  const start = text.indexOf(`## ${section}`);
  const body = text.slice(start, text.indexOf('\n## ', start + 3));
  return [...body.matchAll(/^\| (GET|POST|PUT|DELETE|GET, PUT) \| `([^`]+)`/gm)].flatMap(([, methods, path]) => {
    const paths = [
      path!,
      ...[...body.matchAll(/\(alias `([^`]+)`\)/g)].filter(() => path === '/api/bookings' && methods === 'POST').map((m) => m[1]!),
    ];
    return methods!.split(', ').flatMap((m) => paths.map((p) => `${m.toLowerCase()} ${p.split('?')[0]!.replace(/:(\w+)/g, '{$1}')}`));
  });
}

const documented = Object.entries(openapi.paths).flatMap(([path, item]) =>
  Object.keys(item)
    .filter((k) => METHODS.includes(k))
    .map((method) => `${method} ${path}`),
);

describe('openapi.yaml', () => {
  it('resolves every $ref (a schema filed under responses is a schema no tool can find)', () => {
    const refs = new Set<string>();
    JSON.stringify(openapi, (key, value) => {
      if (key === '$ref') refs.add(value);
      return value;
    });
    const missing = [...refs].filter(
      (ref) =>
        ref
          .slice(2)
          .split('/')
          .reduce<unknown>((node, k) => (node as Record<string, unknown> | undefined)?.[k], openapi) === undefined,
    );
    expect(missing).toEqual([]);
  });

  it.skipIf(!existsSync(contractFile))('documents every route of the contract’s rooms and bookings', () => {
    const routes = contractRoutes('Rooms and bookings (hotel)');
    expect(routes.length).toBeGreaterThanOrEqual(8);
    expect(documented).toEqual(expect.arrayContaining(routes));
  });

  it.skipIf(!existsSync(contractFile))('documents every route of the contract’s enrollment, operations, queries and onboarding', () => {
    const routes = [
      ...contractRoutes('Course enrollment (academic, asynchronous)'),
      ...contractRoutes('Operations'),
      ...contractRoutes('Asynchronous queries (reports)'),
      ...contractRoutes('Student onboarding (cascading workflows in batches)'),
    ];
    expect(routes.length).toBeGreaterThanOrEqual(22);
    expect(documented).toEqual(expect.arrayContaining(routes));
  });

  describe('against the running gateway', () => {
    let stack: TestStack;
    beforeAll(async () => {
      stack = await startTestStack('openapi', { replicas: { inventory: 1, booking: 1, enrollment: 1, worker: 1 } });
    });
    afterAll(async () => {
      await stack?.close();
    });

    it('serves every documented path (no unmatched route), the ops paths on the ops port only', async () => {
      const api = apiClient(stack.gatewayUrl);
      const gateway = stack.processes.find((p) => p.name.startsWith('gateway-'))!;
      const ops = apiClient(`http://127.0.0.1:${gateway.port}`);
      expect([...onOpsPort].sort()).toEqual(['/metrics', '/readyz']);
      const admin = await token('openapi-admin', 'admin');
      for (const route of documented) {
        const [method, path] = route.split(' ') as [string, string];
        const uuidPath = ['/api/bookings', '/api/enrollments', '/api/queries', '/api/admin/tasks'].some((prefix) =>
          path.startsWith(prefix),
        );
        const concrete = path
          .replace('{id}', uuidPath ? '00000000-0000-4000-8000-000000000000' : '1')
          .replace('{code}', 'G-ELC108-E')
          .replace('{name}', 'postgres')
          .replace('{key}', 'no-such-key');
        const query = route === 'delete /api/ops/sagas' ? '?status=completed&older_than_seconds=3600' : '';
        const body =
          route === 'put /api/admin/config'
            ? { batch_size: 20, rate_limit_directory_per_min: 10, rate_limit_lms_per_min: 30, rate_limit_email_per_min: 60 }
            : route === 'post /api/admin/onboarding/ingest'
              ? { students: [{ id: 'OAPI1', name: 'Open Api', email: 'oapi1@example.com' }] }
              : method === 'post'
                ? {}
                : undefined;
        if (onOpsPort.has(path)) {
          expect((await ops(method.toUpperCase(), concrete)).status, route).toBe(200);
          expect((await api(method.toUpperCase(), concrete)).status, `${route} on the public port`).toBe(404);
          continue;
        }
        const response = await api(method.toUpperCase(), concrete + query, { token: admin, body });
        expect(response.status, route).toBeLessThan(500);
        expect(String(response.body?.detail ?? ''), route).not.toMatch(/^No route/);
      }
    });
  });
});
