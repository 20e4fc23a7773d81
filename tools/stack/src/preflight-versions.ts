import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import postgres from 'postgres';

/**
 * The oldest PostgreSQL, Redis and RabbitMQ the code works with, each read from the server
 * itself (not from a client binary, which may be a different version than the server).
 */
export interface ServerRequirement {
  name: 'PostgreSQL' | 'Redis' | 'RabbitMQ';
  /** The variable that points make run and make test at another server. */
  urlVariable: 'PG_URL' | 'REDIS_URL' | 'AMQP_URL';
  minimum: string;
  /** What the code uses that an older server lacks. */
  because: string;
  readVersion(url: string): Promise<string>;
}

const TIMEOUT_MS = 5_000;

/** `SHOW server_version_num` (150020 → 15.20, 90624 → 9.6.24): the number, not the text, which distributions decorate. */
export async function postgresVersion(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, connect_timeout: TIMEOUT_MS / 1000, fetch_types: false, onnotice: () => undefined });
  try {
    const [row] = await sql`SHOW server_version_num`.simple();
    const n = Number(row!.server_version_num);
    return n >= 100_000 ? `${Math.floor(n / 10_000)}.${n % 10_000}` : `${Math.floor(n / 10_000)}.${Math.floor(n / 100) % 100}.${n % 100}`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** `redis_version` from `INFO server`. */
export async function redisVersion(url: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: TIMEOUT_MS, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined); // the awaited calls below reject with the same error
  try {
    await redis.connect();
    const version = /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1];
    if (!version) throw new Error('INFO server has no redis_version');
    return version;
  } finally {
    redis.disconnect();
  }
}

/** The `version` the broker announces in its connection's server-properties. */
export async function rabbitmqVersion(url: string): Promise<string> {
  const connection = await amqplib.connect(url, { timeout: TIMEOUT_MS });
  connection.on('error', () => undefined); // closing below is all this connection does
  try {
    const version = connection.connection.serverProperties.version;
    if (!version) throw new Error('the broker announced no version');
    return String(version);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export const SERVER_REQUIREMENTS: ServerRequirement[] = [
  {
    name: 'PostgreSQL',
    urlVariable: 'PG_URL',
    minimum: '13',
    because: 'gen_random_uuid() is built in from 13, and node-pg-migrate 8 supports 13 and newer',
    readVersion: postgresVersion,
  },
  {
    name: 'Redis',
    urlVariable: 'REDIS_URL',
    minimum: '5.0',
    because: "the rate limiter's script writes after calling TIME, which scripts may do by default only from 5.0 on",
    readVersion: redisVersion,
  },
  {
    name: 'RabbitMQ',
    urlVariable: 'AMQP_URL',
    minimum: '3.10',
    because: 'job queues are quorum queues with x-delivery-limit and at-least-once dead-lettering',
    readVersion: rabbitmqVersion,
  },
];

/** Negative when a < b, as dotted version numbers; anything after a number (`7.0.15-rc1`, `3.13.7+1`) is ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i += 1) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export interface VersionCheck {
  ok: boolean;
  /** One line: the version and whether it is enough, or what went wrong and what to do. */
  line: string;
}

/** Reads each server's version and compares it with what the code needs; one line each. */
export async function checkServerVersions(
  urls: Record<ServerRequirement['name'], string>,
  requirements = SERVER_REQUIREMENTS,
): Promise<VersionCheck[]> {
  return Promise.all(
    requirements.map(async (req): Promise<VersionCheck> => {
      let version: string;
      try {
        version = await req.readVersion(urls[req.name]);
      } catch (error) {
        return { ok: false, line: `${req.name}: could not read its version (${(error as Error).message})` };
      }
      return compareVersions(version, req.minimum) < 0
        ? {
            ok: false,
            line: `${req.name} ${version} is older than ${req.minimum}, which the code needs (${req.because}): upgrade it, or point ${req.urlVariable} at a newer one`,
          }
        : { ok: true, line: `${req.name} ${version} ok (needs ${req.minimum} or newer: ${req.because})` };
    }),
  );
}
