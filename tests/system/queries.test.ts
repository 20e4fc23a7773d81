import type { QueryAccepted } from '@cupo/contracts';
import { defaultUrls, queueMessages, stopProcess } from '@cupo/stack';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, createRoom, day, eventually, startTestStack, token, type ReportView, type TestStack } from './support.js';

/** Asynchronous queries through the gateway, computed by 2 worker replicas from the owners' data. */
let stack: TestStack;
let api: ReturnType<typeof apiClient>;
let admin: string;

beforeAll(async () => {
  stack = await startTestStack('queries', {
    replicas: { inventory: 2, booking: 2, enrollment: 2, worker: 2 },
    serviceEnv: {
      worker: {
        JOB_MAX_ATTEMPTS: '20',
        JOB_RETRY_INITIAL_MS: '50',
        JOB_RETRY_MAX_MS: '300',
        SOURCE_TIMEOUT_MS: '500',
        MAINTENANCE_INTERVAL_MS: '300',
      },
    },
  });
  api = apiClient(stack.gatewayUrl);
  admin = await token('admin-1', 'admin');
});

afterAll(async () => {
  await stack?.close();
});

async function waitForAnswer(id: string, who = admin): Promise<ReportView> {
  let view!: ReportView;
  await eventually(
    async () => {
      view = (await api<ReportView>('GET', `/api/queries/${id}`, { token: who })).body;
      return view.status !== 'pending';
    },
    30_000,
    100,
  );
  return view;
}

describe('asynchronous queries (2 worker replicas)', () => {
  it('completes 100 queued queries', async () => {
    const guest = await token('q-guest', 'guest');
    const submitted = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        api('POST', '/api/queries', {
          // Rosters show students' personal data: admins only.
          token: i % 3 === 2 ? admin : guest,
          body:
            i % 3 === 0
              ? { type: 'occupancy_report', params: { from: day(1), to: day(8) } }
              : i % 3 === 1
                ? { type: 'room_search', params: { from: day(2), to: day(4), min_available: 1 } }
                : { type: 'section_roster', params: { section: 'G-ELC108-E' } },
        }),
      ),
    );
    for (const r of submitted) {
      expect(r.status).toBe(202);
      expect(r.body).toMatchObject({ status: 'pending', status_url: `/api/queries/${r.body.query_id}` });
    }
    const ids = submitted.map((r) => r.body.query_id as string);
    expect(
      await eventually(async () => {
        const [row] =
          await stack.workerDb`SELECT count(*)::int AS n FROM queries WHERE id IN ${stack.workerDb(ids)} AND status = 'completed'`;
        return row!.n === 100;
      }, 30_000),
    ).toBe(true);
    const view = await waitForAnswer(ids[0]!, guest);
    expect(view).toMatchObject({ type: 'occupancy_report', status: 'completed', params: { from: day(1), to: day(8) } });
    expect(view.processed_at).toBeTruthy();
  });

  it('computes the reports from the owners’ data', async () => {
    const room = await createRoom(api, { name: 'Reported', total_quantity: 2 });
    const guest = await token('q-booker', 'guest');
    const booked = await api('POST', '/api/bookings', { token: guest, body: { room_id: room.id, check_in: day(3), check_out: day(5) } });
    expect(booked.status).toBe(201);
    const ask = async (body: unknown) =>
      waitForAnswer((await api<QueryAccepted>('POST', '/api/queries', { token: admin, body })).body.query_id);

    const occupancy = await ask({ type: 'occupancy_report', params: { from: day(3), to: day(5) } });
    const row = occupancy.result.rooms.find((r) => r.room_id === room.id);
    expect(row).toMatchObject({ room_nights: 4, sold: 2, occupancy: 0.5 });

    const search = await ask({ type: 'room_search', params: { from: day(3), to: day(5), min_available: 2 } });
    expect(search.result.rooms.some((r) => r.room_id === room.id)).toBe(false);
    const search1 = await ask({ type: 'room_search', params: { from: day(3), to: day(5), min_available: 1 } });
    expect(search1.result.rooms.find((r) => r.room_id === room.id)).toMatchObject({ min_available: 1 });

    const enrolled = await api('POST', '/api/enrollments', {
      token: await token('RA0007', 'student'),
      body: { term: '1-2025', sections: ['G-PRG101-A'] },
    });
    await eventually(
      async () => (await api('GET', `/api/enrollments/requests/${enrolled.body.request_id}`, { token: admin })).body.status === 'completed',
    );
    const roster = await ask({ type: 'section_roster', params: { section: 'G-PRG101-A' } });
    expect(roster.result.students.map((s) => s.student_id)).toContain('RA0007');

    const missing = await ask({ type: 'section_roster', params: { section: 'NOPE-9' } });
    expect(missing).toMatchObject({ status: 'failed', error: { code: 'SECTION_NOT_FOUND' } });
  });

  it('refuses bad input, unknown types and other people’s queries', async () => {
    const guest = await token('q-guest-2', 'guest');
    const cases: [unknown, number][] = [
      [{ type: 'mystery', params: {} }, 400],
      [{ type: 'occupancy_report', params: { from: day(5), to: day(1) } }, 400],
      [{ type: 'room_search', params: { from: day(1), to: day(2), min_available: 0 } }, 400],
      [{ type: 'section_roster' }, 400],
    ];
    for (const [body, status] of cases) {
      const response = await api('POST', '/api/queries', { token: guest, body });
      expect(response.status).toBe(status);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    }
    expect((await api('POST', '/api/queries', { body: cases[0]![0] })).status).toBe(401);
    const mine = await api('POST', '/api/queries', { token: guest, body: { type: 'room_search', params: { from: day(1), to: day(2) } } });
    const other = await api('GET', `/api/queries/${mine.body.query_id}`, { token: await token('someone-else', 'guest') });
    expect(other.status).toBe(403);
    expect((await api('GET', '/api/queries/00000000-0000-4000-8000-000000000000', { token: guest })).body.code).toBe('QUERY_NOT_FOUND');
  });

  it('purges answers once they expire', async () => {
    const asked = await api('POST', '/api/queries', { token: admin, body: { type: 'section_roster', params: { section: 'G-ELC108-E' } } });
    expect((await waitForAnswer(asked.body.query_id)).status).toBe('completed');
    // As if its QUERY_RESULT_TTL_SECONDS had run out.
    await stack.workerDb`UPDATE queries SET expires_at = now() - interval '1 second' WHERE id = ${asked.body.query_id}`;
    expect(
      await eventually(async () => (await api('GET', `/api/queries/${asked.body.query_id}`, { token: admin })).status === 404, 10_000),
    ).toBe(true);
  });

  it('answers every accepted query though its source was down and its workers were killed', async () => {
    // The roster's owner is away: workers take the queries and keep retrying.
    await Promise.all(
      stack.processes.filter((p) => p.name.startsWith('enrollment-') && p.child.exitCode === null).map((p) => stopProcess(p)),
    );
    const accepted = await Promise.all(
      Array.from({ length: 10 }, () =>
        api('POST', '/api/queries', { token: admin, body: { type: 'section_roster', params: { section: 'G-ELC108-E' } } }),
      ),
    );
    expect(accepted.every((r) => r.status === 202)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Both workers die with the queries in hand.
    for (const worker of stack.processes.filter((p) => p.name.startsWith('worker-') && p.child.exitCode === null))
      worker.child.kill('SIGKILL');
    const pending = await stack.workerDb`SELECT count(*)::int AS n FROM queries WHERE status = 'pending'`;
    expect(pending[0]!.n).toBeGreaterThanOrEqual(10);
    await stack.startReplica('enrollment');
    await stack.startReplica('worker');
    for (const r of accepted) expect((await waitForAnswer(r.body.query_id)).status).toBe('completed');
  });

  describe('whose source never answers', () => {
    const live = (service: string) =>
      stack.processes.filter((p) => p.name.startsWith(`${service}-`) && p.child.exitCode === null && p.child.signalCode === null);
    const roster = () => api('POST', '/api/queries', { token: admin, body: { type: 'section_roster', params: { section: 'G-ELC108-E' } } });

    beforeAll(async () => {
      // The roster's owner is gone for good: every ask of it times out.
      await Promise.all(live('enrollment').map((p) => stopProcess(p)));
    });

    afterEach(async () => {
      await Promise.all(live('worker').map((p) => stopProcess(p)));
    });

    it('ends the query failed (QUERY_DEADLINE_EXCEEDED) by its deadline instead of retrying forever', async () => {
      await Promise.all(live('worker').map((p) => stopProcess(p)));
      await stack.startReplica('worker', { QUERY_DEADLINE_MS: '2500' });
      const asked = await roster();
      expect(asked.status).toBe(202);
      const view = await waitForAnswer(asked.body.query_id);
      expect(view).toMatchObject({ status: 'failed', error: { code: 'QUERY_DEADLINE_EXCEEDED' } });
      const lived = Date.parse(view.processed_at) - Date.parse(view.created_at);
      expect(lived).toBeGreaterThanOrEqual(2_400);
      // The deadline, plus at most one retry delay (JOB_RETRY_MAX_MS) and a loaded machine's slack.
      expect(lived).toBeLessThan(2_500 + 2_000);
    });

    it('re-announces a pending query at most once per STALE_QUERY_MS: the sweep does not multiply its messages', async () => {
      await Promise.all(live('worker').map((p) => stopProcess(p)));
      await stack.startReplica('worker', { QUERY_DEADLINE_MS: '60000', STALE_QUERY_MS: '2000', MAINTENANCE_INTERVAL_MS: '100' });
      const started = Date.now();
      const asked = await Promise.all(Array.from({ length: 5 }, () => roster()));
      expect(asked.every((r) => r.status === 202)).toBe(true);
      // Their messages circle (asked, timed out, parked, asked again) while the sweep runs every 100 ms.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      const depths = await queueMessages(defaultUrls().amqpUrl, decodeURIComponent(new URL(stack.amqpUrl).pathname.slice(1)));
      const elapsed = Date.now() - started;
      const messages = (depths['worker.queries'] ?? 0) + (depths['worker.queries.retry'] ?? 0);
      // One each, plus one re-announcement per 2 s that passed (and one at the edge) — not one per sweep.
      expect(messages).toBeGreaterThanOrEqual(5);
      expect(messages).toBeLessThanOrEqual(5 * (1 + Math.ceil(elapsed / 2_000) + 1));
      const [row] =
        await stack.workerDb`SELECT count(*)::int AS n FROM queries WHERE id IN ${stack.workerDb(asked.map((r) => r.body.query_id))} AND status = 'pending'`;
      expect(row!.n).toBe(5);
    });
  });
});
