import postgres from 'postgres';
import { DependencyUnavailableError } from '@cupo/errors';
import { tracePool, tracingEnabled } from './tracing.js';

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;
/** A piece of SQL (`sql`WHERE …``) to splice into another query. */
export type Fragment = postgres.Fragment;
export { postgres };

export interface PoolOptions {
  url: string;
  /** Connections this process may hold: replicas × max must fit the server's max_connections. */
  max: number;
  /** Shown in pg_stat_activity, so a DBA can tell which service holds which connection. */
  applicationName: string;
  /** Called with each statement as it is sent (one round trip once prepared): for counting, never for logging values. */
  onQuery?: (statement: string, parameters: readonly unknown[]) => void;
}

const DATE_OID = 1082;

/**
 * A porsager/postgres pool with the conventions every service shares: `date` columns come
 * back as `YYYY-MM-DD` strings (a JS Date would shift them by the process's time zone) and
 * notices are not printed. Created after telemetry has started, its queries are traced.
 */
export function createPool(options: PoolOptions): Sql {
  const pool = postgres(options.url, {
    max: options.max,
    idle_timeout: 30,
    connect_timeout: 5,
    onnotice: () => undefined,
    ...(options.onQuery
      ? { debug: (_connection: number, statement: string, parameters: unknown[]) => options.onQuery!(statement, parameters) }
      : {}),
    connection: { application_name: options.applicationName },
    types: {
      date: {
        to: DATE_OID,
        from: [DATE_OID],
        serialize: (value: string) => value,
        parse: (value: string) => value,
      },
    },
  });
  // With OpenTelemetry on, each query and transaction is a span (tracing.ts); off, the pool as it is.
  if (!tracingEnabled()) return pool;
  return tracePool(pool, { database: pool.options.database, host: pool.options.host[0], port: pool.options.port[0] });
}

/** Readiness: the server answers a trivial query. */
export function databaseReadiness(sql: Sql): () => Promise<void> {
  return async () => {
    await sql`SELECT 1`;
  };
}

/** SQLSTATE classes and driver codes that mean "could not talk to PostgreSQL", not "bad query". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

export function isUnavailableError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return UNAVAILABLE_CODES.has(code) || code.startsWith('08');
}

/**
 * Runs a database call, turning connection failures into DependencyUnavailableError (503
 * with Retry-After at the edge) and leaving every other error as it is.
 */
export async function withDatabase<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUnavailableError(error)) throw new DependencyUnavailableError('PostgreSQL', error);
    throw error;
  }
}

/** An integrity violation with SQLSTATE `code`, on the named constraint if one is given (porsager keeps constraint_name). */
const violation =
  (code: string) =>
  (error: unknown, constraint?: string): boolean => {
    const e = error as { code?: string; constraint_name?: string } | null;
    return e?.code === code && (constraint === undefined || e.constraint_name === constraint);
  };

/** PostgreSQL's unique_violation (23505). */
export const isUniqueViolation = violation('23505');

/** PostgreSQL's check_violation (23514). */
export const isCheckViolation = violation('23514');

/** The settings serviceEnv.postgres() gives every service that has a database. */
export interface PostgresEnv {
  DATABASE_URL: string;
  PG_POOL_MAX: number;
}

/** A service's pool from its config (application name `cupo-<service>`) and its /readyz check. */
export function postgresFromEnv(config: PostgresEnv, service: string): { client: Sql; check: () => Promise<void> } {
  const client = createPool({ url: config.DATABASE_URL, max: config.PG_POOL_MAX, applicationName: `cupo-${service}` });
  return { client, check: databaseReadiness(client) };
}
