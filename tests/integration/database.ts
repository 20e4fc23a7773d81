import { fileURLToPath } from 'node:url';
import { createPool, databaseUrlFor, dropDatabase, ensureDatabase, migrate, type Sql } from '@cupo/database';
import { defaultUrls } from '@cupo/stack';

/**
 * A database of this test file's own, migrated with a service's real migrations: created in
 * beforeAll, dropped in afterAll (with the pool closed first).
 */
export async function migratedDatabase(service: 'inventory' | 'booking' | 'enrollment' | 'worker', poolMax = 10) {
  const { pgUrl } = defaultUrls();
  const name = `cupo_it_${service}_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
  await ensureDatabase(pgUrl, name);
  await migrate({
    databaseUrl: databaseUrlFor(pgUrl, name),
    dir: fileURLToPath(new URL(`../../services/${service}/migrations`, import.meta.url)),
  });
  const sql: Sql = createPool({ url: databaseUrlFor(pgUrl, name), max: poolMax, applicationName: `${service}-it` });
  return {
    sql,
    url: databaseUrlFor(pgUrl, name),
    drop: async () => {
      await sql.end({ timeout: 5 });
      await dropDatabase(pgUrl, name);
    },
  };
}
