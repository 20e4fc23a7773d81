import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, databaseUrlFor, dropDatabase, ensureDatabase, migrate, type Sql } from '@cupo/database';
import { defaultUrls } from '@cupo/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Migrations run while the previous release still takes bookings (the chart's pre-upgrade
 * hook), so an index on room_nights — every reserve and release writes it — must not hold off
 * writers while it is built. A plain CREATE INDEX takes a SHARE lock for the whole build (about
 * 2 s at 10,000 rooms × a year); this one is built CONCURRENTLY. Shown without timing: a writer
 * is mid-transaction when the migration starts, so the build has to wait for it; a second writer
 * arriving meanwhile must still get through (behind a plain CREATE INDEX it would queue behind
 * the build's lock request until the first writer finished).
 */
const MIGRATION = '1737300000000_room-nights-by-night';
const dir = fileURLToPath(new URL('../../services/inventory/migrations', import.meta.url));
const { pgUrl } = defaultUrls();
const name = `cupo_it_rnidx_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
const url = databaseUrlFor(pgUrl, name);
let sql: Sql;
let before: string;

beforeAll(async () => {
  // Every migration before this one, from a copy of the folder without it.
  before = mkdtempSync(join(tmpdir(), 'inventory-migrations-'));
  for (const file of readdirSync(dir).filter((f) => !f.startsWith(MIGRATION))) cpSync(join(dir, file), join(before, file));
  await ensureDatabase(pgUrl, name);
  await migrate({ databaseUrl: url, dir: before });
  sql = createPool({ url, max: 4, applicationName: 'rnidx-it' });
  await sql`INSERT INTO rooms (id, name, type, total_quantity) SELECT r, 'room ' || r, 'double', 5 FROM generate_series(1, 50) r`;
  await sql`INSERT INTO room_nights (room_id, night, total, available) SELECT r, DATE '2030-01-01' + d, 5, 5 FROM generate_series(1, 50) r, generate_series(0, 29) d`;
});

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await dropDatabase(pgUrl, name);
  rmSync(before, { recursive: true, force: true });
});

describe(`inventory migration ${MIGRATION}`, () => {
  it('builds room_nights_by_night without holding off bookings’ writes', async () => {
    const first = await sql.reserve();
    const second = createPool({ url, max: 1, applicationName: 'rnidx-second-writer' });
    try {
      await first`BEGIN`;
      await first`UPDATE room_nights SET available = available - 1 WHERE room_id = 1 AND night = '2030-01-01'`;
      const migrating = migrate({ databaseUrl: url, dir });
      // Until the build is waiting on the first writer's transaction.
      await expect
        .poll(
          async () =>
            (
              await sql<{ n: number }[]>`
                SELECT count(*)::int AS n FROM pg_stat_activity
                WHERE datname = ${name} AND query ILIKE '%CREATE INDEX%room_nights_by_night%' AND wait_event_type = 'Lock'`
            )[0]?.n ?? 0,
          { timeout: 15_000, interval: 50 },
        )
        .toBe(1);
      // A booking arriving now: through at once, not queued behind the build.
      await second.begin(async (tx) => {
        await tx`SET LOCAL lock_timeout = '2s'`;
        await tx`UPDATE room_nights SET available = available - 1 WHERE room_id = 2 AND night = '2030-01-01'`;
      });
      await first`COMMIT`;
      expect(await migrating).toEqual([MIGRATION]);
    } finally {
      first.release();
      await second.end({ timeout: 5 });
    }
    const [index] = await sql<{ valid: boolean; definition: string }[]>`
      SELECT i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS definition
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'room_nights_by_night'`;
    expect(index).toEqual({ valid: true, definition: expect.stringContaining('(night, room_id)') });
    const [{ available }] = (await sql<{ available: number }[]>`
      SELECT sum(available)::int AS available FROM room_nights WHERE night = '2030-01-01' AND room_id IN (1, 2)`) as [
      { available: number },
    ];
    expect(available).toBe(8);
  });
});
