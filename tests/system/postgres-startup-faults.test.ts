import { stopProcess, TcpProxy, type ServiceProcess } from '@cupo/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, createRoom, day, eventually, startTestStack, token, waitForTerminal, type TestStack } from './support.js';

/**
 * porsager/postgres runs a type-lookup query of its own as the first statement of every new
 * connection, and nothing awaited it: a database restart that resets a connection at that
 * moment became an unhandled rejection and the process exited (porsager/postgres#1192,
 * #1205, #1223). Here every database service talks to PostgreSQL through a proxy that breaks
 * exactly that moment — a reset, then a terminated backend's error — over and over, while
 * traffic keeps every pool opening connections.
 */
const DATABASE_SERVICES = ['inventory', 'booking', 'enrollment', 'worker'] as const;
type DatabaseService = (typeof DATABASE_SERVICES)[number];

/** The ErrorResponse a backend sends when `pg_terminate_backend` or a shutdown ends it (57P01). */
function terminatedBackend(): Buffer {
  const fields = [
    ['S', 'FATAL'],
    ['V', 'FATAL'],
    ['C', '57P01'],
    ['M', 'terminating connection due to administrator command'],
  ].map(([key, value]) => Buffer.from(`${key}${value}\0`));
  const body = Buffer.concat([...fields, Buffer.from('\0')]);
  const head = Buffer.alloc(5);
  head.write('E');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const TYPE_QUERY = 'pg_catalog.pg_type';

let stack: TestStack;
let api: ReturnType<typeof apiClient>;
const proxies = new Map<DatabaseService, TcpProxy>();
const proxied = new Map<DatabaseService, ServiceProcess>();

beforeAll(async () => {
  stack = await startTestStack('pgstartup', {
    replicas: { inventory: 1, booking: 1, enrollment: 1, worker: 1 },
    // Loops that query often keep connections opening; breakers that open during the faults
    // are allowed to close quickly once they end.
    env: { PG_POOL_MAX: '3', DATABASE_CIRCUIT_RECOVERY_TIMEOUT: '1', PUBLISH_CIRCUIT_RECOVERY_TIMEOUT: '1' },
    serviceEnv: {
      booking: { RECOVERY_INTERVAL_MS: '100' },
      enrollment: { OUTBOX_POLL_MS: '100', RECOVERY_INTERVAL_MS: '200' },
      worker: { MAINTENANCE_INTERVAL_MS: '200' },
    },
  });
  api = apiClient(stack.gatewayUrl);
  // Replace each service's replica by one whose database connections cross a proxy.
  for (const service of DATABASE_SERVICES) {
    const url = new URL(stack.databaseUrls[service]);
    const proxy = await new TcpProxy({ host: url.hostname, port: Number(url.port || 5432) }).start();
    proxies.set(service, proxy);
    const original = stack.processes.find((p) => p.name === `${service}-1`)!;
    proxied.set(service, await stack.startReplica(service, { DATABASE_URL: proxy.rewrite(stack.databaseUrls[service]) }));
    await stopProcess(original);
  }
});

afterAll(async () => {
  for (const proxy of proxies.values()) await proxy.close();
  await stack?.close();
});

/** Work that makes every service touch its database. */
async function traffic(roomId: number, round: number): Promise<void> {
  const guest = await token(`pgstartup-${round}`);
  await Promise.allSettled([
    api('POST', '/api/bookings', {
      token: guest,
      body: { room_id: roomId, check_in: day(1 + (round % 20)), check_out: day(2 + (round % 20)) },
    }),
    api('GET', `/api/rooms/${roomId}/availability?from=${day(1)}&to=${day(5)}`),
    api('GET', '/api/bookings', { token: guest }),
    api('POST', '/api/enrollments', {
      token: await token(`RA00${10 + (round % 40)}`, 'student'),
      body: { term: '1-2025', sections: ['G-HUM110-A'] },
    }),
    api('POST', '/api/queries', { token: guest, body: { type: 'occupancy_report', params: { from: day(1), to: day(3) } } }),
  ]);
}

describe('a connection reset while porsager/postgres fetches its types', () => {
  it('never ends a process; each service recovers once the database behaves', async () => {
    const room = await createRoom(api, { name: 'Start-up resets', total_quantity: 50 });
    const perService = 6;
    for (const proxy of proxies.values()) {
      // Half as resets, half as a terminated backend's error followed by a close.
      proxy.failOnClientData(TYPE_QUERY, perService / 2, { action: 'reset' });
      proxy.cutAll();
    }
    let round = 0;
    let switched = false;
    const struck = () => [...proxies.values()].every((p) => p.faultsInjected >= perService);
    const dead = () => [...proxied.values()].some((p) => p.child.exitCode !== null || p.child.signalCode !== null);
    const deadline = Date.now() + 40_000;
    while (!struck() && !dead() && Date.now() < deadline) {
      if (!switched && [...proxies.values()].every((p) => p.faultsInjected >= perService / 2)) {
        switched = true;
        for (const proxy of proxies.values())
          proxy.failOnClientData(TYPE_QUERY, perService / 2, { action: 'respond', bytes: terminatedBackend() });
      }
      await traffic(room.id, round++);
      for (const proxy of proxies.values()) proxy.cutAll();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Nobody died.
    for (const [service, proc] of proxied) {
      expect({ service, exitCode: proc.child.exitCode, signal: proc.child.signalCode }).toEqual({ service, exitCode: null, signal: null });
    }
    const injected = Object.fromEntries([...proxies].map(([service, p]) => [service, p.faultsInjected]));
    expect(
      Object.values(injected).every((n) => n >= perService),
      JSON.stringify(injected),
    ).toBe(true);

    // Disarmed: every service serves again, array parameters included (the types were refetched).
    for (const proxy of proxies.values()) proxy.failOnClientData(TYPE_QUERY, 0);
    const guest = await token('pgstartup-after');
    let booked: Awaited<ReturnType<typeof api>> | undefined;
    expect(
      await eventually(
        async () => {
          booked = await api('POST', '/api/bookings', { token: guest, body: { room_id: room.id, check_in: day(25), check_out: day(28) } });
          return booked.status === 201;
        },
        20_000,
        300,
      ),
      JSON.stringify(booked?.body),
    ).toBe(true);
    const admin = await token('admin-pgstartup', 'admin');
    // A breaker that opened during the faults lets calls through again within a second or two.
    let enroll: Awaited<ReturnType<typeof api>> | undefined;
    expect(
      await eventually(
        async () => {
          enroll = await api('POST', '/api/enrollments', {
            token: await token('RA0050', 'student'),
            body: { term: '1-2025', sections: ['G-MAT101-B'] },
          });
          return enroll.status === 202;
        },
        20_000,
        300,
      ),
      JSON.stringify(enroll?.body),
    ).toBe(true);
    if (!enroll) throw new Error('no answer');
    const [view] = [...(await waitForTerminal(api, [enroll.body.request_id], admin, 20_000)).values()];
    expect(view?.status).toBe('completed');
    let query: Awaited<ReturnType<typeof api>> | undefined;
    expect(
      await eventually(
        async () => {
          query = await api('POST', '/api/queries', {
            token: guest,
            body: { type: 'room_search', params: { from: day(25), to: day(28) } },
          });
          return query.status === 202;
        },
        20_000,
        300,
      ),
      JSON.stringify(query?.body),
    ).toBe(true);
    if (!query) throw new Error('no answer');
    expect(
      await eventually(
        async () => (await api('GET', `/api/queries/${query.body.query_id}`, { token: guest })).body.status === 'completed',
        20_000,
      ),
    ).toBe(true);
    for (const [service, proc] of proxied)
      expect({ service, alive: proc.child.exitCode === null && proc.child.signalCode === null }).toEqual({ service, alive: true });
  });
});
