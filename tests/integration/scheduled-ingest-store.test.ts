import { todayUtc } from '@cupo/contracts';
import { createPool, type Sql } from '@cupo/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresOnboardingStore } from '../../services/worker/src/adapters/postgres/onboarding-store.js';
import { migratedDatabase } from './database.js';

/**
 * The scheduled ingest's arbiter in the database (fireScheduledIngest): one firing per slot,
 * and only the latest slot — a replica that read the schedule before a slot boundary and
 * stalled past it must not fire the older slot after another replica has fired the newer one
 * (two ingests back to back, against the documented "latest missed slot only" rule).
 */
let database: Awaited<ReturnType<typeof migratedDatabase>>;
let sql: Sql;
const schedule = { cron: '* * * * *', time_zone: 'UTC' };

beforeAll(async () => {
  database = await migratedDatabase('worker', 2);
  sql = createPool({ url: database.url, max: 2, applicationName: 'scheduled-ingest-store' });
  await database.sql`
    UPDATE onboarding_config SET ingest_cron = ${schedule.cron}, ingest_time_zone = ${schedule.time_zone},
           ingest_schedule_since = now() - interval '1 hour'`;
});

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await database?.drop();
});

describe('the scheduled ingest in the database', () => {
  it('fires a slot once, and never a slot older than one of the same schedule already fired', async () => {
    const store = new PostgresOnboardingStore(sql, 3600, { kick: () => undefined });
    const minute = 60_000;
    const newer = new Date(Math.floor(Date.now() / minute) * minute - minute);
    const older = new Date(newer.getTime() - minute);

    expect(await store.fireScheduledIngest(newer, schedule, crypto.randomUUID(), 'replica-b')).not.toBeNull();
    // The same slot again (another replica): nothing.
    expect(await store.fireScheduledIngest(newer, schedule, crypto.randomUUID(), 'replica-c')).toBeNull();
    // The slot before it, from a replica that read the schedule before `newer` and stalled: nothing.
    expect(await store.fireScheduledIngest(older, schedule, crypto.randomUUID(), 'replica-a')).toBeNull();

    // Another schedule's later slots do not hold back this one's (set long ago, its latest slot is older).
    const yearly = { cron: '0 0 1 1 *', time_zone: 'UTC' };
    await database.sql`
      UPDATE onboarding_config SET ingest_cron = ${yearly.cron}, ingest_time_zone = ${yearly.time_zone},
             ingest_schedule_since = now() - interval '3 years'`;
    const newYear = new Date(`${todayUtc().slice(0, 4)}-01-01T00:00:00Z`);
    expect(await store.fireScheduledIngest(newYear, yearly, crypto.randomUUID(), 'replica-a')).not.toBeNull();

    const [tasks] = await database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM tasks WHERE type = 'ingest'`;
    const [outbox] = await database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox`;
    expect([tasks!.n, outbox!.n]).toEqual([2, 2]);
  });
});
