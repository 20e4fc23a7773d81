import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daysFromToday } from '@cupo/contracts';
import { defaultUrls, freePort, httpClient, signToken, startStack } from '@cupo/stack';
import { CpuMeter, cpuLine } from './cpu.js';
import { fmt, summary } from './figures.js';

/**
 * The booking benchmark (`make bench`, or `BENCH=bookings`). Starts its own stack (2 inventory, 2 booking
 * replicas, one gateway; own databases, vhost and key prefix) and prints latency
 * percentiles and throughput through the public API:
 *   (i)  the seed burst — 50 guests book the same nights of a quantity-1 room at once;
 *   (ii) steady booking load spread over many rooms, at a fixed concurrency.
 * The load generator shares the machine's cores with everything it measures.
 */
const BURSTS = Math.min(13, Number(process.env.BENCH_BURSTS ?? 10)); // nights 1..27; 28-29 is the cold run
const STEADY_SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const STEADY_CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROOMS = 200;

const day = (n: number) => daysFromToday(n);

const stack = await startStack({
  ...defaultUrls(),
  namespace: `bench_${Date.now().toString(36)}`,
  replicas: { inventory: 2, booking: 2, enrollment: 0 },
  gatewayPort: await freePort(),
  opsPortBase: 0,
  logDir: join(tmpdir(), 'cupo-bench'),
  env: { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', PG_POOL_MAX: '10' },
});
const client = httpClient(stack.gatewayUrl);
const cpu = new CpuMeter(stack, defaultUrls().pgUrl);
const post = (path: string, tokenValue: string, body: unknown) => client.request('POST', path, tokenValue, body);

try {
  const tokens = await Promise.all(Array.from({ length: 64 }, (_, i) => signToken({ sub: `bench-${i}`, role: 'guest' })));
  const admin = await signToken({ sub: 'bench-admin', role: 'admin' });
  // Warm-up: open the client's keep-alive connections and let the services JIT their paths.
  for (let i = 0; i < 5; i++) await Promise.all(tokens.map((t) => client.request('GET', '/api/rooms', t)));

  // (i) the seed burst. The first one meets cold code paths and empty pools; it is reported
  // on its own and kept out of the warm figures. Then repeated on fresh nights of room 1.
  const cold = await Promise.all(
    tokens.slice(0, 50).map((t) => post('/api/bookings', t, { room_id: 1, check_in: day(28), check_out: day(30) })),
  );
  summary(
    'seed burst, first (cold) run',
    cold.map((r) => r.ms),
    1,
    new Map(cold.map((r) => [r.status, cold.filter((c) => c.status === r.status).length])),
  );
  const burstLatencies: number[] = [];
  const burstStatuses = new Map<number, number>();
  const burstWalls: number[] = [];
  for (let b = 0; b < BURSTS; b++) {
    const body = { room_id: 1, check_in: day(1 + 2 * b), check_out: day(3 + 2 * b) };
    const started = performance.now();
    const results = await Promise.all(tokens.slice(0, 50).map((t) => post('/api/bookings', t, body)));
    burstWalls.push(performance.now() - started);
    for (const r of results) {
      burstLatencies.push(r.ms);
      burstStatuses.set(r.status, (burstStatuses.get(r.status) ?? 0) + 1);
    }
    const wins = results.filter((r) => r.status === 201).length;
    if (wins !== 1) console.log(`  burst ${b}: ${wins} confirmed (expected 1)`);
  }
  summary(
    `seed burst, warm (${BURSTS} × 50 guests, 1 room-night unit)`,
    burstLatencies,
    burstWalls.reduce((a, b) => a + b, 0) / 1000,
    burstStatuses,
  );
  console.log(`  burst wall time: mean ${fmt(burstWalls.reduce((a, b) => a + b, 0) / burstWalls.length)}`);

  // (ii) steady load over many rooms.
  const rooms: number[] = [];
  for (let i = 0; i < ROOMS; i++) {
    const created = await post('/api/admin/rooms', admin, { name: `Bench ${i}`, type: 'bench', total_quantity: 1000, open_days: 30 });
    rooms.push((created.body as { id: number }).id);
  }
  const steadyLatencies: number[] = [];
  const steadyStatuses = new Map<number, number>();
  const until = performance.now() + STEADY_SECONDS * 1000;
  const steadyCpu = await cpu.start();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: STEADY_CONCURRENCY }, async (_, worker) => {
      let i = 0;
      while (performance.now() < until) {
        const room = rooms[(worker * 7919 + i * 104_729) % rooms.length]!;
        const start = 1 + ((worker + i) % 25);
        const r = await post('/api/bookings', tokens[worker % tokens.length]!, {
          room_id: room,
          check_in: day(start),
          check_out: day(start + 1 + (i % 3)),
        });
        steadyLatencies.push(r.ms);
        steadyStatuses.set(r.status, (steadyStatuses.get(r.status) ?? 0) + 1);
        i += 1;
      }
    }),
  );
  summary(
    `steady load (${STEADY_CONCURRENCY} concurrent clients, ${ROOMS} rooms, ${STEADY_SECONDS} s)`,
    steadyLatencies,
    (performance.now() - started) / 1000,
    steadyStatuses,
  );
  console.log(cpuLine(await steadyCpu(), steadyLatencies.length, 'booking'));

  // Reference: the cheapest authenticated round trip through the same path (one RPC, one
  // query). A booking costs two RPC hops, five PostgreSQL round trips and the lock calls,
  // so this is the ceiling to read the booking throughput against.
  const readLatencies: number[] = [];
  const readUntil = performance.now() + 5_000;
  const readStarted = performance.now();
  await Promise.all(
    Array.from({ length: STEADY_CONCURRENCY }, async (_, worker) => {
      while (performance.now() < readUntil) {
        const read = await client.request('GET', '/api/bookings/00000000-0000-4000-8000-000000000000', tokens[worker % tokens.length]);
        readLatencies.push(read.ms);
      }
    }),
  );
  summary(
    `reference: authenticated single-RPC read (${STEADY_CONCURRENCY} concurrent clients, 5 s)`,
    readLatencies,
    (performance.now() - readStarted) / 1000,
    new Map(),
  );
} finally {
  client.close();
  await cpu.close();
  await stack.destroy();
}
