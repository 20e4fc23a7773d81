import { stopProcess } from '@cupo/stack';
import { todayUtc } from '@cupo/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, eventually, startTestStack, token, type TestStack } from './support.js';

/**
 * The scheduled ingest (issue 15.1, seed 004's nightly ingest) with 2 real worker replicas:
 * each looks at the schedule every 100 ms and the database lets exactly one of them fire each
 * slot. The schedule is changed and turned off through the API while they run.
 */
let stack: TestStack;
let api: ReturnType<typeof apiClient>;
let admin: string;

const BASE = { batch_size: 20, rate_limit_directory_per_min: 3_000, rate_limit_lms_per_min: 3_000, rate_limit_email_per_min: 3_000 };
const OFF = { ...BASE, ingest_schedule: null };

beforeAll(async () => {
  stack = await startTestStack('schedule', {
    replicas: { inventory: 0, booking: 0, enrollment: 0, worker: 2 },
    serviceEnv: { worker: { INGEST_SCHEDULE_TICK_MS: '100', JOB_RETRY_INITIAL_MS: '50', JOB_RETRY_MAX_MS: '500' } },
  });
  api = apiClient(stack.gatewayUrl);
  admin = await token('admin-schedule', 'admin');
  expect((await api('PUT', '/api/admin/config', { token: admin, body: OFF })).status).toBe(200);
});

afterAll(async () => {
  await stack?.close();
});

const workers = () =>
  stack.processes.filter((p) => p.name.startsWith('worker-') && p.child.exitCode === null && p.child.signalCode === null);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Fired {
  id: string;
  slot: Date;
  fired_by: string;
}
async function scheduledIngests(): Promise<Fired[]> {
  return stack.workerDb<Fired[]>`
    SELECT id, (details->>'scheduled_for')::timestamptz AS slot, details->>'fired_by' AS fired_by
    FROM tasks WHERE type = 'ingest' AND details ? 'scheduled_for' ORDER BY 2`;
}
const setSchedule = (schedule: { cron: string; time_zone: string } | null) =>
  api('PUT', '/api/admin/config', { token: admin, body: { ...BASE, ingest_schedule: schedule } });

describe('scheduled ingest', () => {
  it('refuses a schedule it cannot read and changes nothing', async () => {
    const before = (await api('GET', '/api/admin/config', { token: admin })).body;
    expect(before.ingest_schedule).toBeNull();
    for (const bad of [
      { cron: '61 * * * *', time_zone: 'UTC' },
      { cron: 'every night', time_zone: 'UTC' },
      { cron: '0 2 * * *', time_zone: 'Mars/Olympus_Mons' },
      { cron: '', time_zone: 'UTC' },
      { cron: '0 2 * * *' },
    ]) {
      const response = await api('PUT', '/api/admin/config', { token: admin, body: { ...BASE, batch_size: 7, ingest_schedule: bad } });
      expect(response.status, JSON.stringify(bad)).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    }
    expect((await api('GET', '/api/admin/config', { token: admin })).body).toEqual(before);

    // A valid one is kept and read back; a PUT without the field leaves it as it is.
    const nightly = { cron: '0 2 * * *', time_zone: 'America/Argentina/Cordoba' };
    expect((await setSchedule(nightly)).body.ingest_schedule).toEqual(nightly);
    expect((await api('PUT', '/api/admin/config', { token: admin, body: BASE })).body.ingest_schedule).toEqual(nightly);
    expect((await api('GET', '/api/admin/config', { token: admin })).body.ingest_schedule).toEqual(nightly);
    expect((await setSchedule(null)).body.ingest_schedule).toBeNull();
  });

  it('fires once per slot across 2 replicas, follows a change without a restart, and stops when turned off', async () => {
    const pids = workers().map((p) => p.child.pid);
    expect(pids).toHaveLength(2);
    expect(await scheduledIngests()).toEqual([]);

    // Every second, for about 5 s.
    expect((await setSchedule({ cron: '* * * * * *', time_zone: 'UTC' })).status).toBe(200);
    await sleep(5_200);
    // Every 2 s: takes effect at once, in the same processes.
    const changing = Date.now();
    expect((await setSchedule({ cron: '*/2 * * * * *', time_zone: 'Europe/Madrid' })).status).toBe(200);
    const changedAt = Date.now();
    await sleep(6_200);
    expect((await setSchedule(null)).status).toBe(200);
    const offAt = Date.now();
    const fired = await scheduledIngests();

    // Exactly one ingest per slot: no slot twice (the database's slot row is the arbiter) …
    const slots = fired.map((f) => f.slot.getTime());
    expect(new Set(slots).size).toBe(slots.length);
    expect(await stack.workerDb`SELECT count(*)::int AS n FROM ingest_schedule_slots`).toEqual([{ n: fired.length }]);
    // … and each slot of the schedule then in force fires: one a second, then one every two
    // seconds (a look that comes late on a loaded machine catches up the slots it missed).
    const perSecond = slots.filter((t) => t < changing);
    const everyTwo = slots.filter((t) => t > changedAt);
    expect(perSecond.length).toBeGreaterThanOrEqual(3);
    for (const t of perSecond) expect(t % 1_000).toBe(0);
    expect(everyTwo.length).toBeGreaterThanOrEqual(2);
    for (const t of everyTwo) expect(t % 2_000).toBe(0);
    const gaps = [
      ...perSecond.slice(1).map((t, i) => (t - perSecond[i]!) / 1_000),
      ...everyTwo.slice(1).map((t, i) => (t - everyTwo[i]!) / 2_000),
    ];
    expect(
      gaps.every((n) => n === 1),
      `slots between consecutive firings: ${gaps}`,
    ).toBe(true);
    // Both replicas took part in the race (each fired some slots, and none twice).
    console.log(
      'slots fired per replica',
      Object.fromEntries([...new Set(fired.map((f) => f.fired_by))].map((r) => [r, fired.filter((f) => f.fired_by === r).length])),
    );
    expect(workers().map((p) => p.child.pid)).toEqual(pids);

    // Off: nothing more fires.
    await sleep(2_500);
    const after = await scheduledIngests();
    expect(after.length).toBe(fired.length);
    expect(after.every((f) => f.slot.getTime() <= offAt)).toBe(true);

    // They show as ingest tasks marked scheduled, and run like any ingest.
    const last = fired.at(-1)!;
    expect(
      await eventually(async () => (await api('GET', `/api/admin/tasks/${last.id}`, { token: admin })).body.status === 'completed', 20_000),
    ).toBe(true);
    const task = (await api('GET', `/api/admin/tasks/${last.id}`, { token: admin })).body;
    expect(task).toMatchObject({
      type: 'ingest',
      scheduled: true,
      details: { scheduled_for: last.slot.toISOString(), requested_by: 'schedule' },
    });
    const listed = (await api('GET', '/api/admin/tasks?type=ingest&limit=200', { token: admin })).body as {
      id: string;
      scheduled: boolean;
    }[];
    expect(
      listed
        .filter((t) => t.scheduled)
        .map((t) => t.id)
        .sort(),
    ).toEqual(fired.map((f) => f.id).sort());
    const manual = await api('POST', '/api/admin/onboarding/ingest', {
      token: admin,
      body: { students: [{ id: 'SCHED1', name: 'Man Ual', email: 'sched1@example.com' }] },
    });
    expect((await api('GET', `/api/admin/tasks/${manual.body.task_id}`, { token: admin })).body.scheduled).toBe(false);
  });

  it('after everything was down, fires the latest missed slot once, not each missed one', async () => {
    // Yearly, at New Year in UTC: set now, so no slot of it has come yet.
    const yearly = { cron: '0 0 1 1 *', time_zone: 'UTC' };
    expect((await setSchedule(yearly)).status).toBe(200);
    await sleep(1_000);
    const earlier = new Set((await scheduledIngests()).map((f) => f.id));
    expect(earlier.size).toBeGreaterThan(0); // the previous test's
    // Every replica down; the schedule had been set three years ago (so three New Years were missed).
    await Promise.all(workers().map((p) => stopProcess(p)));
    await stack.workerDb`UPDATE onboarding_config SET ingest_schedule_since = now() - interval '3 years'`;
    await Promise.all([stack.startReplica('worker'), stack.startReplica('worker')]);
    const latestNewYear = new Date(`${todayUtc().slice(0, 4)}-01-01T00:00:00Z`);
    const added = async () => (await scheduledIngests()).filter((f) => !earlier.has(f.id));
    expect(await eventually(async () => (await added()).length > 0, 10_000)).toBe(true);
    await sleep(1_500);
    expect((await added()).map((f) => f.slot.toISOString())).toEqual([latestNewYear.toISOString()]);
    expect((await setSchedule(null)).status).toBe(200);
  });
});
