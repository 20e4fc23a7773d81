import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort, httpClient, stopProcess, type ServiceProcess } from '@cupo/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, createRoom, day, eventually, startTestStack, token, type TestStack } from './support.js';

/**
 * The gateway's life in a cluster: probes and metrics on its ops port, readiness that does
 * not hang on Redis, and a drain on SIGTERM that lets a rolling restart behind a load
 * balancer lose no request.
 */
const DRAIN_DELAY_MS = Number(process.env.TEST_DRAIN_DELAY_MS ?? 2_000);
let stack: TestStack;
let guest: string;
let roomId: number;

beforeAll(async () => {
  stack = await startTestStack('gateway', {
    replicas: { inventory: 1, booking: 1, enrollment: 0 },
    // A real delay, as in a cluster: endpoints need a moment to drop a terminating pod.
    serviceEnv: { gateway: { SHUTDOWN_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS) } },
  });
  guest = await token('lifecycle-guest', 'guest');
  roomId = (await createRoom(apiClient(stack.gatewayUrl), { name: 'Lifecycle', total_quantity: 50 })).id;
});

afterAll(async () => {
  await stack?.close();
});

const startGateway = async (env: NodeJS.ProcessEnv = {}) => stack.startReplica('gateway', { PORT: String(await freePort()), ...env });
const publicUrl = (gateway: ServiceProcess) => `http://127.0.0.1:${gateway.httpPort}`;
const readyz = async (gateway: ServiceProcess) =>
  (await fetch(`http://127.0.0.1:${gateway.port}/readyz`, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined))?.status;

describe('the gateway without Redis', () => {
  it('becomes ready and serves; only keyed bookings, which need Redis, answer 503', async () => {
    // Nothing listens on this port: Redis is unreachable from the start.
    const gateway = await startGateway({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    try {
      const api = apiClient(publicUrl(gateway));
      expect(await readyz(gateway)).toBe(200);
      expect((await api('GET', '/api/rooms')).status).toBe(200);
      const body = { room_id: roomId, check_in: day(3), check_out: day(4) };
      const keyed = await api('POST', '/api/bookings', { token: guest, body, headers: { 'idempotency-key': 'no-redis' } });
      expect(keyed.status).toBe(503);
      expect(keyed.body.code).toBe('DEPENDENCY_UNAVAILABLE');
      expect((await api('POST', '/api/bookings', { token: guest, body })).status).toBe(201);
      expect(await readyz(gateway)).toBe(200);
    } finally {
      await stopProcess(gateway);
    }
  });
});

describe('draining on SIGTERM', () => {
  it('turns unready at once, keeps serving (closing each connection) for the drain delay, then exits cleanly', async () => {
    const gateway = await startGateway();
    const api = apiClient(publicUrl(gateway));
    const signalled = Date.now();
    const exited = stopProcess(gateway);
    expect(await eventually(async () => (await readyz(gateway)) === 503, 1_000, 20)).toBe(true);
    expect(Date.now() - signalled).toBeLessThan(DRAIN_DELAY_MS / 2);
    const during = await api('GET', '/api/rooms');
    expect(during.status).toBe(200);
    expect(during.headers.get('connection')).toBe('close');
    expect(await exited).toBe(0);
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(DRAIN_DELAY_MS);
  });
});

/**
 * A round-robin TCP balancer in front of gateway replicas, driven by their readiness as an
 * endpoints controller is: it polls each one's /readyz on the ops port and sends new
 * connections only to replicas that answered 200. A connection stays with its replica until
 * one side closes it (as with kube-proxy).
 */
class Balancer {
  private readonly backends: { proc: ServiceProcess; ready: boolean; connections: number }[] = [];
  private readonly server: Server = createServer((client) => this.route(client));
  private turn = 0;
  private polling = true;
  private poller: Promise<void> | undefined;
  refused = 0;

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.poller = this.poll();
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  add(proc: ServiceProcess): void {
    this.backends.push({ proc, ready: false, connections: 0 });
  }

  isRouting(proc: ServiceProcess): boolean {
    return this.backends.some((b) => b.proc === proc && b.ready);
  }

  connectionsTo(proc: ServiceProcess): number {
    return this.backends.find((b) => b.proc === proc)?.connections ?? 0;
  }

  async stop(): Promise<void> {
    this.polling = false;
    await this.poller;
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async poll(): Promise<void> {
    while (this.polling) {
      await Promise.all(this.backends.map(async (b) => void (b.ready = (await readyz(b.proc)) === 200)));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private route(client: Socket): void {
    const ready = this.backends.filter((b) => b.ready);
    if (ready.length === 0) {
      this.refused += 1;
      client.destroy();
      return;
    }
    const backend = ready[this.turn++ % ready.length]!;
    backend.connections += 1;
    const upstream = connect(backend.proc.httpPort!, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const teardown = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown).on('close', teardown);
    upstream.on('error', teardown).on('close', teardown);
  }
}

describe('a rolling restart behind a load balancer', () => {
  it('loses no request while both replicas are replaced one after the other under steady load', async () => {
    const balancer = new Balancer();
    const first = stack.processes.find((p) => p.name === 'gateway-1')!;
    const second = await startGateway();
    balancer.add(first);
    balancer.add(second);
    const url = await balancer.start();
    expect(await eventually(async () => balancer.isRouting(first) && balancer.isRouting(second), 5_000, 50)).toBe(true);

    // Steady load: 8 callers on keep-alive connections, each sending its next request as
    // soon as the last is answered, reads of two services.
    const client = httpClient(url, { maxSockets: 8, timeoutMs: 10_000 });
    const failures: string[] = [];
    let answered = 0;
    let loading = true;
    const caller = async (n: number) => {
      for (let i = 0; loading; i++) {
        const [path, auth] = (n + i) % 2 ? ['/api/rooms', undefined] : ['/api/bookings', guest];
        try {
          const reply = await client.request('GET', path, auth);
          if (reply.status === 200) answered += 1;
          else failures.push(`${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
        } catch (error) {
          failures.push(`${path}: ${(error as Error).message}`);
        }
      }
    };
    const callers = Array.from({ length: 8 }, (_, n) => caller(n));

    try {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const beforeRollout = answered;
      const replaced: ServiceProcess[] = [];
      for (const old of [first, second]) {
        // As a Deployment rolls: the old pod is told to stop, its replacement starts and
        // becomes ready, and only then does the next old pod go.
        const exited = stopProcess(old);
        const replacement = await startGateway();
        balancer.add(replacement);
        expect(await eventually(async () => balancer.isRouting(replacement), 5_000, 50)).toBe(true);
        expect(await exited).toBe(0);
        replaced.push(replacement);
      }
      const duringRollout = answered - beforeRollout;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      loading = false;
      await Promise.all(callers);

      expect(failures).toEqual([]);
      expect(balancer.refused).toBe(0);
      // The load went on through the whole rollout, and ended on the replacements.
      expect(duringRollout).toBeGreaterThan(100);
      expect(replaced.reduce((sum, p) => sum + balancer.connectionsTo(p), 0)).toBeGreaterThan(0);
    } finally {
      loading = false;
      await Promise.all(callers);
      client.close();
      await balancer.stop();
    }
  });
});
