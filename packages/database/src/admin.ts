import { runner } from 'node-pg-migrate';
import postgres from 'postgres';

/**
 * Database set-up shared by every service: create its database when missing, then apply
 * its SQL migrations with node-pg-migrate (which takes an advisory lock, so replicas or
 * Job pods that migrate at the same moment do not race).
 */

/** Creates `database` on the server `adminUrl` points at, unless it exists already. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<boolean> {
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) {
    throw new Error(`refusing to create database with unusual name ${JSON.stringify(database)}`);
  }
  const sql = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    const [row] = await sql`SELECT 1 AS found FROM pg_database WHERE datname = ${database}`;
    if (row) return false;
    try {
      await sql.unsafe(`CREATE DATABASE "${database}"`);
    } catch (error) {
      // Two processes may create it at once: the loser sees duplicate_database (42P04).
      if ((error as { code?: string }).code !== '42P04') throw error;
      return false;
    }
    return true;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Drops `database`, disconnecting anyone still attached (tests clean up with this). */
export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    await sql.unsafe(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** The URL of `database` on the same server as `url`. */
export function databaseUrlFor(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export interface MigrateOptions {
  databaseUrl: string;
  /** Folder of `<timestamp>_<name>.sql` files with `-- Up Migration` / `-- Down Migration`. */
  dir: string;
  log?: (message: string) => void;
}

export async function migrate(options: MigrateOptions): Promise<string[]> {
  const applied = await runner({
    databaseUrl: options.databaseUrl,
    dir: options.dir,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Number.POSITIVE_INFINITY,
    checkOrder: true,
    log: options.log ?? (() => undefined),
  });
  return applied.map((migration) => migration.name);
}
