import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { databaseUrlFor, dropDatabase, ensureDatabase } from '@cupo/database';
import { Redis } from 'ioredis';
import { assertReachable, dependencies } from './preflight.js';
import { amqpUrlFor, createVhost, deleteVhost, type Rabbitmqctl } from './rabbitmq.js';
import { startProcess, stopProcess, waitReady, type ProcessSpec, type ServiceProcess } from './processes.js';

const run = promisify(execFile);

/** The repository root, from this file's place in tools/stack/dist. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const SERVICES = ['inventory', 'booking', 'enrollment', 'worker', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];
/** Services that own a database (the gateway keeps nothing but Redis idempotency keys). */
const DATABASE_SERVICES = ['inventory', 'booking', 'enrollment', 'worker'] as const;
/** Services with seed data (`dist/seed.js`). */
const SEEDED_SERVICES = ['inventory', 'enrollment'] as const;

export interface StackOptions {
  /** Base URLs of the shared servers; database and vhost names are added per stack. */
  pgUrl: string;
  redisUrl: string;
  amqpUrl: string;
  /** rabbitmqctl for the broker at amqpUrl when it is not the machine's default node (a private one). */
  rabbitmqctl?: Rabbitmqctl;
  /** Names databases `cupo_<ns>_<service>`, the vhost `cupo-<ns>`, Redis keys `cupo:<ns>:`; empty for `make run`. */
  namespace?: string;
  /** Replicas per service; worker defaults to 0 (stacks that need it ask). */
  replicas: { inventory: number; booking: number; enrollment: number; worker?: number };
  gatewayPort: number;
  /** First ops port (/healthz, /readyz, /metrics; the gateway's too); each further process takes the next one. 0 picks free ports. */
  opsPortBase: number;
  logDir: string;
  /** Environment of each provider stand-in (LATENCY_MS, RATE_429, FAIL_FOR, …). */
  providerEnv?: Partial<Record<'graph' | 'moodle' | 'sis' | 'smtp', NodeJS.ProcessEnv>>;
  /** Extra environment for every process, or per service. */
  env?: NodeJS.ProcessEnv;
  serviceEnv?: Partial<Record<ServiceName, NodeJS.ProcessEnv>>;
  seed?: boolean;
  log?: (line: string) => void;
}

/** The onboarding providers' local stand-ins (started with the worker). */
export interface Providers {
  graph: string;
  moodle: string;
  sis: string;
  /** The SMTP sink's admin HTTP (its /_calls); mail goes to smtpUrl. */
  smtpAdmin: string;
  smtpUrl: string;
  processes: ServiceProcess[];
}

export interface Stack {
  gatewayUrl: string;
  providers?: Providers;
  databaseUrls: Record<(typeof DATABASE_SERVICES)[number], string>;
  redisKeyPrefix: string;
  amqpUrl: string;
  processes: ServiceProcess[];
  /** Starts one more replica of a service (also used to replace a killed one). */
  startReplica(service: ServiceName, extraEnv?: NodeJS.ProcessEnv): Promise<ServiceProcess>;
  /**
   * Starts a process that exited again, with its name, port and environment, in its place
   * in `processes`; resolves once it is ready. A start that fails leaves nothing running.
   */
  respawn(proc: ServiceProcess): Promise<ServiceProcess>;
  stop(): Promise<void>;
  /** stop(), then drop the databases and vhost this stack created. */
  destroy(): Promise<void>;
}

export function defaultUrls(env: NodeJS.ProcessEnv = process.env) {
  return {
    pgUrl: env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    amqpUrl: env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The launcher's clients — the tests, the benchmarks, k6 against `make run` — send thousands
 * of requests a second from one address as a handful of users; the gateway's budgets are
 * sized for people. Raised here (the environment or a stack's `env` may lower them again).
 */
export const LAUNCHER_RATE_LIMITS: NodeJS.ProcessEnv = {
  RATE_LIMIT_CLIENT_READS: '1000000',
  RATE_LIMIT_CLIENT_WRITES: '1000000',
  RATE_LIMIT_USER_READS: '1000000',
  RATE_LIMIT_USER_WRITES: '1000000',
};

const entry = (service: ServiceName, file = 'main.js') => join(REPO_ROOT, 'services', service, 'dist', file);

/**
 * Prepares and starts the whole system on local servers: databases created and migrated,
 * seed data loaded, the providers' stand-ins when a worker runs, then every service's replicas and the gateway, each waited for
 * until its /readyz answers.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const log = options.log ?? (() => undefined);
  mkdirSync(options.logDir, { recursive: true });
  await assertReachable(dependencies({ postgres: options.pgUrl, redis: options.redisUrl, amqp: options.amqpUrl }));

  const ns = options.namespace;
  const dbName = (service: string) => (ns ? `cupo_${ns}_${service}` : `cupo_${service}`);
  const databaseUrls = {
    inventory: databaseUrlFor(options.pgUrl, dbName('inventory')),
    booking: databaseUrlFor(options.pgUrl, dbName('booking')),
    enrollment: databaseUrlFor(options.pgUrl, dbName('enrollment')),
    worker: databaseUrlFor(options.pgUrl, dbName('worker')),
  };
  let amqpUrl = options.amqpUrl;
  if (ns) {
    await createVhost(options.amqpUrl, `cupo-${ns}`, options.rabbitmqctl);
    amqpUrl = amqpUrlFor(options.amqpUrl, `cupo-${ns}`);
  }
  const redisKeyPrefix = ns ? `cupo:${ns}:` : '';

  for (const service of DATABASE_SERVICES) {
    if (await ensureDatabase(options.pgUrl, dbName(service))) log(`created database ${dbName(service)}`);
    const envFor = { ...process.env, ...options.env, DATABASE_URL: databaseUrls[service] };
    await run(process.execPath, [entry(service, 'migrate.js')], { env: envFor });
  }
  if (options.seed ?? true) {
    for (const service of SEEDED_SERVICES) {
      await run(process.execPath, [entry(service, 'seed.js')], {
        env: { ...process.env, ...options.env, DATABASE_URL: databaseUrls[service] },
      });
    }
  }

  const processes: ServiceProcess[] = [];
  const specs = new Map<ServiceProcess, ProcessSpec>();
  // A free port is only free until someone binds it: never hand out one twice (or the
  // gateway's, chosen by the caller before any process started).
  const taken = new Set<number>([options.gatewayPort]);
  const allocatePort = async () => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  let providers: Providers | undefined;
  if ((options.replicas.worker ?? 0) > 0) providers = await startProviders(options, processes, specs, allocatePort);
  const counts: Record<ServiceName, number> = { inventory: 0, booking: 0, enrollment: 0, worker: 0, gateway: 0 };
  let nextOpsPort = options.opsPortBase;
  const common: NodeJS.ProcessEnv = {
    ...LAUNCHER_RATE_LIMITS,
    ...process.env,
    AMQP_URL: amqpUrl,
    REDIS_URL: options.redisUrl,
    REDIS_KEY_PREFIX: redisKeyPrefix,
    ...options.env,
  };

  const startReplica = async (service: ServiceName, extraEnv: NodeJS.ProcessEnv = {}) => {
    counts[service] += 1;
    const name = `${service}-${counts[service]}`;
    const port = options.opsPortBase === 0 ? await allocatePort() : nextOpsPort++;
    // The gateway's API is on gatewayPort (or the PORT a caller passes for another replica),
    // its probes and metrics on its ops port like every other process. No drain delay by
    // default: nothing balances over a local stack (tests that roll replicas set one).
    const own: NodeJS.ProcessEnv =
      service === 'gateway'
        ? { PORT: String(options.gatewayPort), OPS_PORT: String(port), SHUTDOWN_DRAIN_DELAY_MS: '0' }
        : { HTTP_PORT: String(port), DATABASE_URL: databaseUrls[service] };
    if (service === 'worker' && providers) {
      Object.assign(own, {
        GRAPH_URL: providers.graph,
        GRAPH_LOGIN_URL: providers.graph,
        MOODLE_URL: providers.moodle,
        SIS_URL: providers.sis,
        SMTP_URL: providers.smtpUrl,
      });
    }
    const env: NodeJS.ProcessEnv = { ...common, ...own, ...options.serviceEnv?.[service], ...extraEnv };
    const spec: ProcessSpec = {
      name,
      entry: entry(service),
      port,
      ...(service === 'gateway' ? { httpPort: Number(env.PORT) } : {}),
      env,
      logDir: options.logDir,
    };
    const proc = startProcess(spec);
    processes.push(proc);
    specs.set(proc, spec);
    await waitReady(proc);
    log(`${proc.name} ready (ops port ${port})`);
    return proc;
  };

  const respawn = async (previous: ServiceProcess) => {
    const spec = specs.get(previous);
    if (!spec) throw new Error(`${previous.name} was not started by this stack`);
    // In `processes` at once, so a stop() meanwhile stops it too.
    const proc = startProcess(spec);
    const at = processes.indexOf(previous);
    if (at >= 0) processes[at] = proc;
    else processes.push(proc);
    specs.set(proc, spec);
    try {
      await waitReady(proc);
    } catch (error) {
      // Back as it was (the dead one in its place), so another try can start from it.
      await stopProcess(proc, 5_000);
      const now = processes.indexOf(proc);
      if (now >= 0) processes[now] = previous;
      specs.delete(proc);
      throw error;
    }
    specs.delete(previous);
    log(`${proc.name} ready again (ops port ${proc.port})`);
    return proc;
  };

  const stop = async () => {
    // Gateway first so no new work arrives, then the services drain what they hold.
    const isGateway = (proc: ServiceProcess) => proc.name.startsWith('gateway');
    const isProvider = (proc: ServiceProcess) => proc.name.startsWith('stand-in-');
    await Promise.all(processes.filter(isGateway).map((proc) => stopProcess(proc)));
    await Promise.all(processes.filter((proc) => !isGateway(proc) && !isProvider(proc)).map((proc) => stopProcess(proc)));
    await Promise.all(processes.filter(isProvider).map((proc) => stopProcess(proc)));
  };

  /** stop(), then drop what a namespaced stack created (a failed start cleans up too). */
  const destroy = async () => {
    await stop();
    if (!ns) return;
    for (const service of DATABASE_SERVICES) await dropDatabase(options.pgUrl, dbName(service));
    await deleteVhost(options.amqpUrl, `cupo-${ns}`, options.rabbitmqctl);
    await deleteKeys(options.redisUrl, redisKeyPrefix);
  };

  try {
    await Promise.all([
      ...Array.from({ length: options.replicas.inventory }, () => startReplica('inventory')),
      ...Array.from({ length: options.replicas.booking }, () => startReplica('booking')),
      ...Array.from({ length: options.replicas.enrollment }, () => startReplica('enrollment')),
      ...Array.from({ length: options.replicas.worker ?? 0 }, () => startReplica('worker')),
    ]);
    await startReplica('gateway');
  } catch (error) {
    await destroy().catch(() => undefined);
    throw error;
  }

  return {
    gatewayUrl: `http://127.0.0.1:${options.gatewayPort}`,
    providers,
    databaseUrls,
    redisKeyPrefix,
    amqpUrl,
    processes,
    startReplica,
    respawn,
    stop,
    destroy,
  };
}

/** Starts the four stand-ins on free ports: Graph-like, Moodle-like, the student source, the SMTP sink. */
async function startProviders(
  options: StackOptions,
  processes: ServiceProcess[],
  specs: Map<ServiceProcess, ProcessSpec>,
  allocatePort: () => Promise<number>,
): Promise<Providers> {
  const started: ServiceProcess[] = [];
  const start = async (name: 'graph' | 'moodle' | 'sis' | 'smtp', extra: NodeJS.ProcessEnv = {}) => {
    const port = await allocatePort();
    const spec: ProcessSpec = {
      name: `stand-in-${name}`,
      entry: join(REPO_ROOT, 'tools', 'providers', 'dist', `${name}.js`),
      port,
      env: { ...process.env, PORT: String(port), ...extra, ...options.providerEnv?.[name] },
      logDir: options.logDir,
    };
    const proc = startProcess(spec);
    processes.push(proc);
    specs.set(proc, spec);
    started.push(proc);
    await waitReady(proc);
    return `http://127.0.0.1:${port}`;
  };
  const smtpPort = await allocatePort();
  const [graph, moodle, sis, smtpAdmin] = await Promise.all([
    start('graph'),
    start('moodle'),
    start('sis'),
    start('smtp', { SMTP_PORT: String(smtpPort) }),
  ]);
  return { graph: graph!, moodle: moodle!, sis: sis!, smtpAdmin: smtpAdmin!, smtpUrl: `smtp://127.0.0.1:${smtpPort}`, processes: started };
}

/** Deletes every Redis key under a run's prefix (idempotency entries, locks, rate limits). */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 })) {
      if ((keys as string[]).length > 0) await redis.unlink(...(keys as string[]));
    }
  } finally {
    redis.disconnect();
  }
}
