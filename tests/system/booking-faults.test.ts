import { readFileSync } from 'node:fs';
import { stopProcess, TcpProxy } from '@cupo/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  createRoom,
  day,
  eventually,
  invariantViolations,
  nightStates,
  reservationMismatches,
  startTestStack,
  token,
  type TestStack,
} from './support.js';

/**
 * Breaking things on purpose. The recovery settings are short so the test settles fast:
 * a pending booking untouched for 3 s is given up; a release debt is paid after 300 ms.
 */
let stack: TestStack;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startTestStack('faults', {
    serviceEnv: {
      booking: {
        INVENTORY_TIMEOUT_MS: '1000',
        LOCK_WAIT_MS: '1500',
        STALE_PENDING_MS: '3000',
        RECOVERY_INTERVAL_MS: '200',
        RELEASE_GRACE_MS: '300',
      },
    },
  });
  api = apiClient(stack.gatewayUrl);
});

afterAll(async () => {
  await stack?.close();
});

const bookingReplicas = () =>
  stack.processes.filter((p) => p.name.startsWith('booking') && p.child.exitCode === null && p.child.signalCode === null);

async function settled(): Promise<boolean> {
  const [{ count }] = await stack.bookingDb`
    SELECT count(*)::int AS count FROM bookings WHERE status = 'pending' OR release_owed`;
  return count === 0;
}

describe('a lock that expires while its holder is stalled', () => {
  it('still cannot oversell: the database arbitrates', async () => {
    // Booking replicas whose PostgreSQL is 40 ms away each way, holding locks of 25 ms:
    // every critical section outlives its lock, so other bookings walk right in.
    const pg = new URL(stack.databaseUrls.booking);
    const proxy = await new TcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) }).start();
    proxy.setLatency(40);
    const original = bookingReplicas();
    const stalled = [
      await stack.startReplica('booking', {
        DATABASE_URL: proxy.rewrite(stack.databaseUrls.booking),
        LOCK_TTL_MS: '25',
        STALE_PENDING_MS: '10000',
      }),
      await stack.startReplica('booking', {
        DATABASE_URL: proxy.rewrite(stack.databaseUrls.booking),
        LOCK_TTL_MS: '25',
        STALE_PENDING_MS: '10000',
      }),
    ];
    await Promise.all(original.map((p) => stopProcess(p)));
    try {
      const single = await createRoom(api, { name: 'Stalled single', total_quantity: 1 });
      const triple = await createRoom(api, { name: 'Stalled triple', total_quantity: 3 });
      const burst = await Promise.all(
        Array.from({ length: 30 }, async (_, i) =>
          api('POST', '/api/bookings', {
            token: await token(`stalled-${i}`),
            body: { room_id: single.id, check_in: day(2), check_out: day(4) },
          }),
        ),
      );
      const overlapping = await Promise.all(
        Array.from({ length: 40 }, async (_, i) =>
          api('POST', '/api/bookings', {
            token: await token(`stalled-overlap-${i}`),
            body: { room_id: triple.id, check_in: day(1 + (i % 4)), check_out: day(3 + (i % 4)) },
          }),
        ),
      );

      expect(burst.filter((r) => r.status === 201)).toHaveLength(1);
      for (const r of [...burst, ...overlapping]) expect([201, 409, 503]).toContain(r.status);
      expect(await eventually(settled, 20_000)).toBe(true);
      expect(invariantViolations(await nightStates(stack, single.id))).toEqual([]);
      expect(invariantViolations(await nightStates(stack, triple.id))).toEqual([]);
      expect(await reservationMismatches(stack)).toEqual([]);

      // Proof that the locks really did expire under their holders.
      let expired = 0;
      for (const replica of stalled) {
        const metrics = await (await fetch(`http://127.0.0.1:${replica.port}/metrics`)).text();
        expired += Number(/booking_lock_expired_before_release_total\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
      }
      expect(expired).toBeGreaterThan(0);
    } finally {
      await stack.startReplica('booking');
      await stack.startReplica('booking');
      await Promise.all(stalled.map((p) => stopProcess(p)));
      await proxy.close();
    }
  });
});

describe('a booking replica killed in the middle of a burst', () => {
  it('leaves every reserved night with its booking and every booking with its nights', async () => {
    const rooms = await Promise.all(Array.from({ length: 4 }, (_, i) => createRoom(api, { name: `Kill ${i}`, total_quantity: 2 })));
    // The victim talks to its database through 20 ms of latency: every command it takes
    // lasts long enough that it is certainly holding some when it dies.
    const pg = new URL(stack.databaseUrls.booking);
    const proxy = await new TcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) }).start();
    proxy.setLatency(20);
    const victim = await stack.startReplica('booking', { DATABASE_URL: proxy.rewrite(stack.databaseUrls.booking) });
    const tokens = await Promise.all(Array.from({ length: 200 }, (_, i) => token(`kill-${i}`)));
    const requests = tokens.map((t, i) =>
      api('POST', '/api/bookings', {
        token: t,
        body: { room_id: rooms[i % 4]!.id, check_in: day(1 + (i % 6)), check_out: day(2 + (i % 6) + (i % 3)) },
      }),
    );
    // Kill it once it has started on the burst (a fixed delay may land before or after).
    await eventually(async () => readFileSync(victim!.logFile, 'utf8').includes('"command":"booking.confirm.v1"'), 10_000, 2);
    victim!.child.kill('SIGKILL');
    const responses = await Promise.all(requests);
    await proxy.close();

    // Whatever each client was told, nothing is lost and nothing is held twice.
    for (const r of responses) expect([201, 409, 503, 504]).toContain(r.status);
    expect(await eventually(settled, 30_000)).toBe(true);
    expect(await reservationMismatches(stack)).toEqual([]);
    for (const room of rooms) expect(invariantViolations(await nightStates(stack, room.id))).toEqual([]);

    // The kill hit work in hand: the broker redelivered it to the surviving replica.
    const survivors = stack.processes.filter((p) => p.name.startsWith('booking') && p !== victim);
    const redelivered = survivors.some((p) => readFileSync(p.logFile, 'utf8').includes('"redelivered":true'));
    expect(redelivered).toBe(true);

    // And a 201 is a booking a guest can rely on.
    for (const r of responses.filter((r) => r.status === 201)) {
      const [row] = await stack.bookingDb`SELECT status FROM bookings WHERE id = ${r.body.id}`;
      expect(row?.status).toBe('confirmed');
    }
  });
});

describe('a retry after a failed attempt', () => {
  it('makes a new attempt instead of refusing every retry of the key', async () => {
    const room = await createRoom(api, { name: 'Retry after failure', total_quantity: 1 });
    const guest = await token('retry-guest');
    const body = { room_id: room.id, check_in: day(3), check_out: day(5) };
    const headers = { 'idempotency-key': 'retry-after-failure' };
    const inventories = stack.processes.filter(
      (p) => p.name.startsWith('inventory') && p.child.exitCode === null && p.child.signalCode === null,
    );
    for (const p of inventories) p.child.kill('SIGSTOP');
    let first;
    try {
      first = await api('POST', '/api/bookings', { token: guest, body, headers });
    } finally {
      for (const p of inventories) p.child.kill('SIGCONT');
    }
    expect([503, 504]).toContain(first.status);

    // Retries with the same key, as a client honouring Retry-After would: one of them books.
    const answers: number[] = [];
    let booked;
    for (let i = 0; i < 20 && !booked; i++) {
      const retry = await api('POST', '/api/bookings', { token: guest, body, headers });
      answers.push(retry.status);
      if (retry.status === 201) booked = retry.body;
      else await new Promise((resolve) => setTimeout(resolve, 1000 * Number(retry.headers.get('retry-after') ?? 1)));
    }
    expect(booked, `answers: ${answers.join(', ')}`).toMatchObject({ status: 'confirmed', ...body });
    const [row] = await stack.bookingDb`SELECT status, attempt FROM bookings WHERE id = ${booked.id}`;
    expect(row).toMatchObject({ status: 'confirmed', attempt: 2 });
    // The key now answers with that booking.
    const again = await api('POST', '/api/bookings', { token: guest, body, headers });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(booked.id);
    expect(await eventually(settled, 15_000)).toBe(true);
    expect(await reservationMismatches(stack)).toEqual([]);
    expect(invariantViolations(await nightStates(stack, room.id))).toEqual([]);
  });
});

describe('graceful shutdown', () => {
  it('lets a booking replica finish what it holds on SIGTERM and exit 0', async () => {
    const room = await createRoom(api, { name: 'Drain', total_quantity: 50 });
    const requests = Array.from({ length: 60 }, async (_, i) =>
      api('POST', '/api/bookings', {
        token: await token(`drain-${i}`),
        body: { room_id: room.id, check_in: day(1 + (i % 3)), check_out: day(2 + (i % 3)) },
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 30));
    const [draining] = bookingReplicas();
    const exitCode = stopProcess(draining!);
    const responses = await Promise.all(requests);
    expect(await exitCode).toBe(0);
    // Every request is answered by a replica that stays or by the draining one before it goes;
    // only the contract's LOCK_TIMEOUT (a busy machine: 60 bookings on one room) is no drain failure.
    expect(
      responses
        .filter((r) => r.status !== 201 && r.body?.code !== 'LOCK_TIMEOUT')
        .map((r) => `${r.status} ${r.body?.code} ${r.body?.detail}`),
    ).toEqual([]);
    expect(responses.filter((r) => r.status === 201).length).toBeGreaterThan(30);
    expect(invariantViolations(await nightStates(stack, room.id))).toEqual([]);
    await stack.startReplica('booking');
  });
});
