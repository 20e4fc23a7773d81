import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { addDays, type Booking, type NightAvailability } from '@cupo/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  createRoom,
  day,
  invariantViolations,
  nightStates,
  reservationMismatches,
  rpcCall,
  startTestStack,
  token,
  type TestStack,
} from './support.js';

let stack: TestStack;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startTestStack('bookings');
  api = apiClient(stack.gatewayUrl);
});

afterAll(async () => {
  await stack?.close();
});

const nextDay = (date: string) => addDays(date, 1);

const book = async (user: string, body: object, headers: Record<string, string> = {}) =>
  api('POST', '/api/bookings', { token: await token(user), body, headers });

describe('the seed burst: 50 guests, one room-night unit', () => {
  it('confirms exactly one booking and refuses the other 49 with 409, leaving availability 0', async () => {
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => token(`burst-guest-${i}`)));
    const body = { room_id: 1, check_in: day(3), check_out: day(5) };
    const responses = await Promise.all(tokens.map((t) => api('POST', '/api/bookings', { token: t, body })));

    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    for (const refused of responses.filter((r) => r.status === 409)) {
      expect(refused.body.code).toBe('ROOM_UNAVAILABLE');
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
    }
    const winner = responses.find((r) => r.status === 201)!.body;
    expect(winner).toMatchObject({ status: 'confirmed', room_id: 1, check_in: day(3), check_out: day(5), nights: 2 });

    const availability = await api('GET', `/api/rooms/1/availability?from=${day(3)}&to=${day(5)}`);
    expect(availability.body).toEqual([
      { date: day(3), total: 1, available: 0 },
      { date: day(4), total: 1, available: 0 },
    ]);
    const [{ count }] = await stack.bookingDb`
      SELECT count(*)::int AS count FROM bookings WHERE room_id = 1 AND status = 'confirmed'`;
    expect(count).toBe(1);
    expect(invariantViolations(await nightStates(stack, 1))).toEqual([]);
  });
});

describe('overlapping multi-night ranges on a room of quantity 3', () => {
  it('never confirms more than 3 per night and keeps available = 3 − confirmed', async () => {
    const room = await createRoom(api, { name: 'Overlap', total_quantity: 3, open_days: 20 });
    const requests = Array.from({ length: 120 }, (_, i) => {
      const start = 1 + (i % 9);
      const length = 1 + ((i * 7) % 5);
      return { user: `overlap-${i}`, body: { room_id: room.id, check_in: day(start), check_out: day(start + length) } };
    });
    const responses = await Promise.all(requests.map((r) => book(r.user, r.body)));

    // 201 or 409 — or, on a machine too busy for a holder to finish within LOCK_WAIT_MS, the
    // contract's 503 LOCK_TIMEOUT (which books nothing): never anything else.
    const unexpected = responses.filter(
      (r) => r.status !== 201 && r.status !== 409 && !(r.status === 503 && r.body?.code === 'LOCK_TIMEOUT'),
    );
    expect(unexpected.map((r) => `${r.status} ${r.body?.code}`)).toEqual([]);
    expect(responses.filter((r) => r.status === 201).length).toBeGreaterThan(0);
    const states = await nightStates(stack, room.id);
    expect(invariantViolations(states)).toEqual([]);
    // No refusal without cause: nothing is cancelled here, so every request that got 409
    // must cover at least one night that ended up fully booked.
    const full = new Set(states.filter((s) => s.confirmed === 3).map((s) => s.night));
    requests.forEach((request, i) => {
      if (responses[i]!.status !== 409) return;
      const nights = [];
      for (let d = request.body.check_in; d < request.body.check_out; d = nextDay(d)) nights.push(d);
      expect(
        nights.some((night) => full.has(night)),
        `${JSON.stringify(request.body)} refused`,
      ).toBe(true);
    });
    expect(await reservationMismatches(stack)).toEqual([]);
  });
});

describe('Idempotency-Key', () => {
  it('gives ten parallel identical requests one booking and ten identical answers', async () => {
    const room = await createRoom(api, { name: 'Idem', total_quantity: 5 });
    const guest = await token('idem-guest');
    const body = { room_id: room.id, check_in: day(2), check_out: day(4) };
    const headers = { 'idempotency-key': 'idem-key-1' };
    const responses = await Promise.all(Array.from({ length: 10 }, () => api('POST', '/api/bookings', { token: guest, body, headers })));

    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(new Set(responses.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
    const [{ count }] = await stack.bookingDb`
      SELECT count(*)::int AS count FROM bookings WHERE user_id = 'idem-guest'`;
    expect(count).toBe(1);

    const later = await api('POST', '/api/bookings', { token: guest, body, headers });
    expect(later.status).toBe(201);
    expect(later.body).toEqual(responses[0]!.body);
  });

  it('refuses the same key with another body with 422 and books nothing', async () => {
    const room = await createRoom(api, { name: 'Idem2', total_quantity: 5 });
    const guest = await token('idem-guest-2');
    const headers = { 'idempotency-key': 'idem-key-2' };
    const first = await api('POST', '/api/bookings', {
      token: guest,
      headers,
      body: { room_id: room.id, check_in: day(2), check_out: day(3) },
    });
    expect(first.status).toBe(201);
    const other = await api('POST', '/api/bookings', {
      token: guest,
      headers,
      body: { room_id: room.id, check_in: day(5), check_out: day(6) },
    });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const [{ count }] = await stack.bookingDb`
      SELECT count(*)::int AS count FROM bookings WHERE user_id = 'idem-guest-2'`;
    expect(count).toBe(1);
  });

  it('replays a refusal too: the same 409 for the same key', async () => {
    const guest = await token('idem-guest-3');
    const headers = { 'idempotency-key': 'idem-key-3' };
    const body = { room_id: 1, check_in: day(3), check_out: day(4) }; // sold out by the burst
    const first = await api('POST', '/api/bookings', { token: guest, headers, body });
    const again = await api('POST', '/api/bookings', { token: guest, headers, body });
    expect(first.status).toBe(409);
    expect(again.status).toBe(409);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });
});

describe('Idempotency-Key belongs to its caller and to its stay', () => {
  it('scopes keys per user: two guests using the same key get a booking each', async () => {
    const room = await createRoom(api, { name: 'Scoped keys', total_quantity: 5 });
    const body = { room_id: room.id, check_in: day(2), check_out: day(3) };
    const headers = { 'idempotency-key': 'shared-key' };
    const [alice, bob] = await Promise.all([book('scoped-alice', body, headers), book('scoped-bob', body, headers)]);
    expect([alice.status, bob.status]).toEqual([201, 201]);
    expect(alice.body.user_id).toBe('scoped-alice');
    expect(bob.body.user_id).toBe('scoped-bob');
    expect(alice.body.id).not.toBe(bob.body.id);
    // Ids and keys may hold ':': user `a` with key `b:c` and user `a:b` with key `c` are unrelated too.
    const [a, ab] = await Promise.all([
      book('scoped-a', body, { 'idempotency-key': 'b:c' }),
      book('scoped-a:b', body, { 'idempotency-key': 'c' }),
    ]);
    expect([a.status, ab.status]).toEqual([201, 201]);
    expect(a.body.id).not.toBe(ab.body.id);
  });

  it('once the key is forgotten, the same key with another stay books that stay and never answers with the old booking', async () => {
    const room = await createRoom(api, { name: 'Forgotten key', total_quantity: 5 });
    const headers = { 'idempotency-key': 'forgotten-key' };
    const first = await book('forgetful', { room_id: room.id, check_in: day(2), check_out: day(3) }, headers);
    expect(first.status).toBe(201);
    const admin = await token('admin-1', 'admin');
    const forgotten = await api('DELETE', `/api/ops/idempotency/${encodeURIComponent('booking:9:forgetful:forgotten-key')}`, {
      token: admin,
    });
    expect(forgotten.status).toBe(200);
    const other = await book('forgetful', { room_id: room.id, check_in: day(6), check_out: day(8) }, headers);
    expect(other.status).toBe(201);
    expect(other.body).toMatchObject({ check_in: day(6), check_out: day(8), nights: 2 });
    expect(other.body.id).not.toBe(first.body.id);
    // The first request, repeated after its entry is gone, still gets its own booking back.
    await api('DELETE', `/api/ops/idempotency/${encodeURIComponent('booking:9:forgetful:forgotten-key')}`, { token: admin });
    const again = await book('forgetful', { room_id: room.id, check_in: day(2), check_out: day(3) }, headers);
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
  });
});

describe('duplicates of one command (redeliveries) decide under the lock', () => {
  const command = (bookingId: string, attemptId: string, roomId: number, user = 'twin-guest') => ({
    booking_id: bookingId,
    attempt_id: attemptId,
    user_id: user,
    room_id: roomId,
    check_in: day(4),
    check_out: day(6),
  });

  it('answers every twin with the booking one of them made, never with a 409 for nights it took itself', async () => {
    const room = await createRoom(api, { name: 'Twins', total_quantity: 1 });
    const id = randomUUID();
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => rpcCall(stack, 'booking.confirm.v1', command(id, 'attempt-a', room.id))),
    );
    for (const reply of replies) expect(reply).toMatchObject({ ok: true, result: { id, status: 'confirmed' } });
    expect(invariantViolations(await nightStates(stack, room.id))).toEqual([]);
  });

  it('keeps a refusal: a late duplicate cannot book what its twin was refused; the client’s retry can', async () => {
    const room = await createRoom(api, { name: 'Refused twin', total_quantity: 1 });
    const holder = await book('twin-holder', { room_id: room.id, check_in: day(4), check_out: day(6) });
    expect(holder.status).toBe(201);
    const id = randomUUID();
    const refused = await rpcCall(stack, 'booking.confirm.v1', command(id, 'attempt-a', room.id));
    expect(refused).toMatchObject({ ok: false, error: { code: 'ROOM_UNAVAILABLE' } });
    const cancelled = await api('POST', `/api/bookings/${holder.body.id}/cancel`, { token: await token('twin-holder') });
    expect(cancelled.status).toBe(200);
    // The nights are free again, but this is the same request: the same answer.
    const late = await rpcCall(stack, 'booking.confirm.v1', command(id, 'attempt-a', room.id));
    expect(late).toMatchObject({ ok: false, error: { code: 'ROOM_UNAVAILABLE' } });
    const [row] = await stack.bookingDb`SELECT status FROM bookings WHERE id = ${id}`;
    expect(row?.status).toBe('failed');
    // The client asking again is a new attempt.
    const retry = await rpcCall(stack, 'booking.confirm.v1', command(id, 'attempt-b', room.id));
    expect(retry).toMatchObject({ ok: true, result: { id, status: 'confirmed' } });
    expect(invariantViolations(await nightStates(stack, room.id))).toEqual([]);
    expect(await reservationMismatches(stack)).toEqual([]);
  });
});

describe('cancelling', () => {
  it('returns the nights to inventory and answers the cancelled booking', async () => {
    const room = await createRoom(api, { name: 'Cancel', total_quantity: 1 });
    const guest = await token('cancel-guest');
    const created = await api('POST', '/api/bookings', {
      token: guest,
      body: { room_id: room.id, check_in: day(1), check_out: day(4) },
    });
    expect(created.status).toBe(201);
    const before = await api<NightAvailability[]>('GET', `/api/rooms/${room.id}/availability?from=${day(1)}&to=${day(4)}`);
    expect(before.body.map((n) => n.available)).toEqual([0, 0, 0]);

    const cancelled = await api('POST', `/api/bookings/${created.body.id}/cancel`, { token: guest });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: created.body.id, status: 'cancelled' });
    const after = await api<NightAvailability[]>('GET', `/api/rooms/${room.id}/availability?from=${day(1)}&to=${day(4)}`);
    expect(after.body.map((n) => n.available)).toEqual([1, 1, 1]);

    const twice = await api('POST', `/api/bookings/${created.body.id}/cancel`, { token: guest });
    expect(twice.status).toBe(200);
    const stillOne = await api<NightAvailability[]>('GET', `/api/rooms/${room.id}/availability?from=${day(1)}&to=${day(4)}`);
    expect(stillOne.body.map((n) => n.available)).toEqual([1, 1, 1]);
    expect(invariantViolations(await nightStates(stack, room.id))).toEqual([]);

    const rebook = await api('POST', '/api/bookings', {
      token: await token('cancel-guest-2'),
      body: { room_id: room.id, check_in: day(1), check_out: day(4) },
    });
    expect(rebook.status).toBe(201);
  });
});

describe('reading bookings', () => {
  it('shows a guest their own bookings, newest first, and an admin anyone’s', async () => {
    const room = await createRoom(api, { name: 'Reads', total_quantity: 10 });
    const guest = await token('reader');
    const first = await book('reader', { room_id: room.id, check_in: day(1), check_out: day(2) });
    const second = await book('reader', { room_id: room.id, check_in: day(3), check_out: day(4) });
    await book('someone-else', { room_id: room.id, check_in: day(1), check_out: day(2) });

    const mine = await api<Booking[]>('GET', '/api/bookings', { token: guest });
    expect(mine.status).toBe(200);
    expect(mine.body.map((b) => b.id)).toEqual([second.body.id, first.body.id]);

    const one = await api('GET', `/api/bookings/${first.body.id}`, { token: guest });
    expect(one.body).toEqual(first.body);

    const admin = await token('root', 'admin');
    const filtered = await api<Booking[]>('GET', '/api/bookings?user_id=reader', { token: admin });
    expect(filtered.body.map((b) => b.id)).toEqual([second.body.id, first.body.id]);
    const asAdmin = await api('GET', `/api/bookings/${first.body.id}`, { token: admin });
    expect(asAdmin.status).toBe(200);
  });

  it('refuses another user’s booking with 403, and an unknown one with 404', async () => {
    const room = await createRoom(api, { name: 'Owner', total_quantity: 2 });
    const mine = await book('owner', { room_id: room.id, check_in: day(1), check_out: day(2) });
    const intruder = await token('intruder');

    const read = await api('GET', `/api/bookings/${mine.body.id}`, { token: intruder });
    expect(read.status).toBe(403);
    expect(read.body.code).toBe('FORBIDDEN');
    const cancel = await api('POST', `/api/bookings/${mine.body.id}/cancel`, { token: intruder });
    expect(cancel.status).toBe(403);
    const list = await api('GET', '/api/bookings?user_id=owner', { token: intruder });
    expect(list.status).toBe(403);
    const [{ status }] = await stack.bookingDb`SELECT status FROM bookings WHERE id = ${mine.body.id}`;
    expect(status).toBe('confirmed');

    const unknown = await api('GET', '/api/bookings/00000000-0000-4000-8000-000000000000', { token: intruder });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('BOOKING_NOT_FOUND');
  });
});

describe('bad input gets its status and code and changes nothing', () => {
  const cases: Array<[string, unknown, number, string]> = [
    ['an impossible date', { room_id: 2, check_in: '2031-02-30', check_out: '2031-03-02' }, 400, 'VALIDATION_FAILED'],
    ['a date in another format', { room_id: 2, check_in: 'tomorrow', check_out: day(3) }, 400, 'VALIDATION_FAILED'],
    ['zero nights', { room_id: 2, check_in: day(3), check_out: day(3) }, 400, 'VALIDATION_FAILED'],
    ['check-out before check-in', { room_id: 2, check_in: day(5), check_out: day(3) }, 400, 'VALIDATION_FAILED'],
    ['31 nights', { room_id: 2, check_in: day(1), check_out: day(32) }, 400, 'VALIDATION_FAILED'],
    ['a past check-in', { room_id: 2, check_in: day(-1), check_out: day(1) }, 400, 'VALIDATION_FAILED'],
    ['a missing field', { room_id: 2, check_in: day(1) }, 400, 'VALIDATION_FAILED'],
    ['an unknown field', { room_id: 2, check_in: day(1), check_out: day(2), price: 0 }, 400, 'VALIDATION_FAILED'],
    ['a room id that is not a number', { room_id: '2', check_in: day(1), check_out: day(2) }, 400, 'VALIDATION_FAILED'],
    ['an unknown room', { room_id: 999_999, check_in: day(1), check_out: day(2) }, 404, 'ROOM_NOT_FOUND'],
  ];

  it.each(cases)('%s', async (_name, body, status, code) => {
    const before = await snapshot();
    const response = await api('POST', '/api/bookings', { token: await token('bad-input'), body });
    expect(response.status).toBe(status);
    expect(response.body.code).toBe(code);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String), type: expect.any(String) });
    if (status === 400) expect(response.body.errors.length).toBeGreaterThan(0);
    expect(await snapshot()).toEqual(before);
  });

  it('malformed JSON', async () => {
    const before = await snapshot();
    const response = await api('POST', '/api/bookings', { token: await token('bad-input'), rawBody: '{"room_id": 2,' });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
    expect(await snapshot()).toEqual(before);
  });

  it('bad availability queries and unknown rooms', async () => {
    expect((await api('GET', '/api/rooms/999999')).body.code).toBe('ROOM_NOT_FOUND');
    expect((await api('GET', '/api/rooms/abc')).status).toBe(404);
    const missing = await api('GET', '/api/rooms/2/availability?from=2030-01-01');
    expect([missing.status, missing.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const reversed = await api('GET', `/api/rooms/2/availability?from=${day(5)}&to=${day(2)}`);
    expect(reversed.status).toBe(400);
  });

  /** Bookings of every status and every night's availability: nothing may move. */
  async function snapshot() {
    const bookings = await stack.bookingDb`SELECT count(*)::int AS count FROM bookings`;
    const nights = await stack.inventoryDb`SELECT sum(available)::int AS sum FROM room_nights`;
    return { bookings: bookings[0]!.count, available: nights[0]!.sum };
  }
});

describe('authentication and roles', () => {
  const body = { room_id: 2, check_in: day(1), check_out: day(2) };

  it('answers 401 without a token, with a forged one and with an expired one', async () => {
    const forged = await new SignJWT({ role: 'guest' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('not-the-secret-at-all'));
    const expired = await new SignJWT({ role: 'guest' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('late')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode('dev-secret-change-me'));
    const noRole = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('nobody')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('dev-secret-change-me'));

    for (const headers of [
      {},
      { authorization: `Bearer ${forged}` },
      { authorization: `Bearer ${expired}` },
      { authorization: `Bearer ${noRole}` },
      { authorization: 'Basic abc' },
    ]) {
      const response = await api('POST', '/api/bookings', { body, headers });
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('UNAUTHORIZED');
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect((await api('GET', '/api/bookings')).status).toBe(401);
  });

  it('refuses a token once it expires, even one it accepted a moment before', async () => {
    const shortLived = await new SignJWT({ role: 'guest' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('brief')
      .setExpirationTime(Math.floor(Date.now() / 1000) + 2)
      .sign(new TextEncoder().encode('dev-secret-change-me'));
    expect((await api('GET', '/api/bookings', { token: shortLived })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 3_100));
    const late = await api('GET', '/api/bookings', { token: shortLived });
    expect([late.status, late.body.code]).toEqual([401, 'UNAUTHORIZED']);
  });

  it('keeps room creation for admins', async () => {
    const payload = { name: 'Nope', type: 'x', total_quantity: 1, open_days: 1 };
    const asGuest = await api('POST', '/api/admin/rooms', { token: await token('g'), body: payload });
    expect([asGuest.status, asGuest.body.code]).toEqual([403, 'FORBIDDEN']);
    expect((await api('POST', '/api/admin/rooms', { body: payload })).status).toBe(401);
    const invalid = await api('POST', '/api/admin/rooms', {
      token: await token('a', 'admin'),
      body: { ...payload, total_quantity: 0 },
    });
    expect([invalid.status, invalid.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});

describe('observability', () => {
  it('echoes X-Request-Id and logs it in the gateway, booking and inventory', async () => {
    const room = await createRoom(api, { name: 'Traced', total_quantity: 1 });
    const requestId = `trace-${Date.now()}`;
    const response = await api('POST', '/api/bookings', {
      token: await token('tracer'),
      body: { room_id: room.id, check_in: day(1), check_out: day(2) },
      headers: { 'x-request-id': requestId },
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-request-id')).toBe(requestId);
    const generated = await api('GET', '/api/rooms');
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const logged = (service: string) =>
      stack.processes
        .filter((p) => p.name.startsWith(service))
        .some((p) =>
          readFileSync(join(stack.logDir, `${p.name}.log`), 'utf8')
            .split('\n')
            .some((line) => line.includes(requestId) && JSON.parse(line).requestId === requestId),
        );
    expect(logged('gateway')).toBe(true);
    expect(logged('booking')).toBe(true);
    expect(logged('inventory')).toBe(true);
  });

  it('serves /healthz, /readyz and /metrics on every process, with the booking series', async () => {
    for (const proc of stack.processes) {
      const base = `http://127.0.0.1:${proc.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      if (proc.name.startsWith('gateway')) {
        expect(metrics).toMatch(/http_request_duration_seconds_bucket\{.*route="\/api\/bookings".*status="201"/);
        expect(metrics).toMatch(/rpc_client_duration_seconds_count\{.*command="booking\.confirm\.v1".*outcome="ok"/);
      }
      if (proc.name.startsWith('booking')) {
        expect(metrics).toMatch(/rpc_server_duration_seconds_count\{.*command="booking\.confirm\.v1"/);
        expect(metrics).toMatch(/bookings_total\{.*outcome="confirmed"/);
        expect(metrics).toMatch(/booking_lock_wait_seconds_bucket\{.*outcome="acquired"/);
        expect(metrics).toContain('booking_lock_failures_total');
      }
      if (proc.name.startsWith('inventory')) {
        expect(metrics).toMatch(/rpc_server_duration_seconds_count\{.*command="inventory\.nights\.reserve\.v1"/);
      }
    }
  });
});
