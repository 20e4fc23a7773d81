import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { probeTcp } from './preflight.js';
import { freePort } from './stack.js';

const exec = promisify(execFile);

/**
 * PostgreSQL, Redis and RabbitMQ instances of a test's own, started from the Debian
 * binaries on the machine (own ports, data directories and node names), so a test can
 * restart or kill them. The machine's shared servers (5432, 6379, 5672) are never touched.
 *
 * Every instance lives in a directory under `$TMPDIR/cupo-private-servers/` that records
 * its owner's pid: `stop()` removes it, an exit hook kills what is left if the owner ends
 * without stopping, and each new start reaps instances whose owner died (a killed test run).
 */
export interface PrivateServer {
  readonly kind: 'postgres' | 'redis' | 'rabbitmq';
  /** The URL a client connects with (PostgreSQL: the admin URL, database `postgres`). */
  readonly url: string;
  readonly port: number;
  /**
   * Takes the server down and brings it back on the same port. `downMs` is how long it
   * stays down. PostgreSQL stops `immediate` (as if it crashed: every connection reset);
   * Redis is SIGKILLed and comes back empty (no persistence); RabbitMQ's application
   * stops and starts (`stop_app`/`start_app`), durable queues and their messages survive.
   */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Stops it and deletes its directory; safe to call twice. */
  stop(): Promise<void>;
}

export interface PrivateRabbitMQ extends PrivateServer {
  readonly kind: 'rabbitmq';
  /** The Erlang node name, for `rabbitmqctl -n`. */
  readonly node: string;
  /** Runs rabbitmqctl against this node (as the user and with the cookie the node has). */
  ctl(args: string[]): Promise<string>;
}

export interface PrivateServers {
  postgres: PrivateServer;
  redis: PrivateServer;
  rabbitmq: PrivateRabbitMQ;
  /** Stops all three (each even if another fails). */
  stop(): Promise<void>;
}

const BASE = join(tmpdir(), 'cupo-private-servers');
const isRoot = () => process.getuid?.() === 0;

/** Starts the three servers side by side (RabbitMQ, the slowest, takes 5–10 s). */
export async function startPrivateServers(): Promise<PrivateServers> {
  const started = await Promise.allSettled([startPrivatePostgres(), startPrivateRedis(), startPrivateRabbitMQ()]);
  const servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    await Promise.allSettled(servers.map((server) => server.stop()));
    throw failed.reason;
  }
  const [postgres, redis, rabbitmq] = servers as [PrivateServer, PrivateServer, PrivateRabbitMQ];
  return {
    postgres,
    redis,
    rabbitmq,
    stop: async () => {
      await Promise.allSettled(servers.map((server) => server.stop()));
    },
  };
}

// --- PostgreSQL -------------------------------------------------------------------------

/** `PG_BIN`, or the newest /usr/lib/postgresql/<version>/bin. */
function postgresBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL binaries under ${root} (set PG_BIN to the directory holding pg_ctl)`);
  return join(root, versions[0]!, 'bin');
}

export async function startPrivatePostgres(): Promise<PrivateServer> {
  reapOrphans();
  const bin = postgresBin();
  // initdb refuses to run as root: the cluster belongs to the postgres account.
  const user = isRoot() ? 'postgres' : userInfo().username;
  const instance = createInstance('postgres', user);
  const data = join(instance.dir, 'data');
  const as = (command: string, args: string[], timeoutMs = 60_000) => runAs(user, {}, join(bin, command), args, timeoutMs);
  await as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  // fsync off: a test's data need not survive the machine crashing (the kernel keeps what
  // was written when only PostgreSQL dies), and a shared 2-core machine should not wait on
  // disks. synchronous_commit stays on: an immediate stop would lose commits already
  // acknowledged, which no real server does. max_connections covers 2 replicas × 4 services × pool.
  const options = [
    `-p ${port}`,
    `-k ${instance.dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c max_connections=300',
  ].join(' ');
  const start = () => as('pg_ctl', ['-D', data, '-l', join(instance.dir, 'postgres.log'), '-w', '-t', '60', '-o', options, 'start']);
  const stopNow = (mode: 'fast' | 'immediate') => as('pg_ctl', ['-D', data, '-w', '-t', '60', '-m', mode, 'stop']);
  instance.setKiller(() => {
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    // SIGQUIT is PostgreSQL's immediate shutdown: the postmaster takes its backends with it.
    if (pid > 0) process.kill(pid, 'SIGQUIT');
  });
  try {
    await start();
  } catch (error) {
    instance.remove();
    throw error;
  }
  let stopped = false;
  return {
    kind: 'postgres',
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    restart: async ({ downMs = 1_000 } = {}) => {
      await stopNow('immediate');
      await sleep(downMs);
      await start();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopNow('fast').catch(() => instance.kill());
      instance.remove();
    },
  };
}

// --- Redis ------------------------------------------------------------------------------

export async function startPrivateRedis(): Promise<PrivateServer> {
  reapOrphans();
  const instance = createInstance('redis', userInfo().username);
  const port = await freePort();
  let child: ChildProcess | undefined;
  // No persistence: a restart comes back empty, as a Redis without AOF/RDB does.
  const start = async () => {
    const spawned = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', instance.dir, '--protected-mode', 'no'],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    child = spawned;
    writeFileSync(join(instance.dir, 'redis.pid'), String(spawned.pid ?? ''));
    instance.setKiller(() => spawned.kill('SIGKILL'));
    const died = new Promise<never>((_, reject) => {
      spawned.once('error', reject);
      spawned.once('exit', (code) => reject(new Error(`redis-server exited during start-up (code ${code})`)));
    });
    died.catch(() => undefined);
    await Promise.race([waitForPort(port, 20_000), died]);
  };
  const kill = async () => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGKILL');
    await exited;
  };
  try {
    await start();
  } catch (error) {
    await kill();
    instance.remove();
    throw error;
  }
  let stopped = false;
  return {
    kind: 'redis',
    url: `redis://127.0.0.1:${port}`,
    port,
    restart: async ({ downMs = 1_000 } = {}) => {
      await kill();
      await sleep(downMs);
      await start();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await kill();
      instance.remove();
    },
  };
}

// --- RabbitMQ ---------------------------------------------------------------------------

const RABBITMQ_BIN = () => process.env.RABBITMQ_BIN ?? '/usr/lib/rabbitmq/bin';

export async function startPrivateRabbitMQ(): Promise<PrivateRabbitMQ> {
  reapOrphans();
  if (!existsSync(join(RABBITMQ_BIN(), 'rabbitmq-server'))) {
    throw new Error(`no rabbitmq-server in ${RABBITMQ_BIN()} (set RABBITMQ_BIN to the directory holding it)`);
  }
  // The Debian scripts expect the rabbitmq account; as root we become it, otherwise run as ourselves.
  const user = isRoot() ? 'rabbitmq' : userInfo().username;
  // A port taken between freePort() and the node's bind (or by an outgoing connection's
  // ephemeral port) makes the node give up; a second try with other ports settles it.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startRabbitMQNode(user);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startRabbitMQNode(user: string): Promise<PrivateRabbitMQ> {
  const instance = createInstance('rabbitmq', user);
  const dir = instance.dir;
  const [port, distPort] = (await distinctFreePorts(2)) as [number, number];
  const node = `cupo-${randomBytes(4).toString('hex')}@localhost`;
  // Own config (the machine's /etc/rabbitmq/rabbitmq.conf binds 5672), own env file (the
  // machine's names the shared node), own cookie in our own HOME: nothing is shared with
  // the machine's node but epmd, the name registry every Erlang node on a host uses.
  writeOwned(join(dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\n`, user);
  writeOwned(join(dir, 'rabbitmq-env.conf'), '', user);
  writeOwned(join(dir, 'enabled_plugins'), '[].\n', user);
  writeOwned(join(dir, '.erlang.cookie'), randomBytes(20).toString('hex').toUpperCase(), user, 0o400);
  const env: Record<string, string> = {
    HOME: dir,
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_NODENAME: node,
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_FEATURE_FLAGS_FILE: join(dir, 'feature_flags'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
  const ctl = async (args: string[], timeoutMs = 60_000) =>
    (await runAs(user, env, join(RABBITMQ_BIN(), 'rabbitmqctl'), ['-n', node, ...args], timeoutMs)).stdout;
  instance.setKiller(() => {
    const pid = Number(readFileSync(env.RABBITMQ_PID_FILE!, 'utf8').trim());
    if (pid > 0) process.kill(pid, 'SIGKILL');
  });
  try {
    await runAs(user, env, join(RABBITMQ_BIN(), 'rabbitmq-server'), ['-detached'], 30_000);
    // `wait` follows the pid file until the node has booted, or fails once the OS process is gone.
    await ctl(['wait', env.RABBITMQ_PID_FILE!, '--timeout', '60'], 90_000);
    await waitForPort(port, 10_000);
  } catch (error) {
    await ctl(['stop', env.RABBITMQ_PID_FILE!], 30_000).catch(() => instance.kill());
    const log = tailOf(join(dir, 'log', `${node}.log`));
    instance.remove();
    throw new Error(`private RabbitMQ ${node} did not start: ${(error as Error).message}\n${log}`);
  }
  let stopped = false;
  return {
    kind: 'rabbitmq',
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    port,
    node,
    ctl: (args) => ctl(args),
    restart: async ({ downMs = 1_000 } = {}) => {
      await ctl(['stop_app']);
      await sleep(downMs);
      await ctl(['start_app']);
      await waitForPort(port, 10_000);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await ctl(['stop', env.RABBITMQ_PID_FILE!], 30_000).catch(() => instance.kill());
      instance.remove();
    },
  };
}

// --- Instances: directories, ownership, clean-up ----------------------------------------

interface Instance {
  dir: string;
  /** Kills the server at once, synchronously (for exit hooks and failed stops). */
  kill(): void;
  setKiller(kill: () => void): void;
  /** Forgets the instance and deletes its directory. */
  remove(): void;
}

const live = new Set<Instance>();
let exitHookInstalled = false;

function createInstance(kind: PrivateServer['kind'], user: string): Instance {
  mkdirSync(BASE, { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(BASE, `${kind}-`));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const { uid, gid } = accountOf(user);
  chownSync(dir, uid, gid);
  let killer = () => undefined as void;
  const instance: Instance = {
    dir,
    kill: () => {
      try {
        killer();
      } catch {
        // already gone
      }
    },
    setKiller: (kill) => {
      killer = kill;
    },
    remove: () => {
      live.delete(instance);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(instance);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A test that fails hard (or a worker torn down) must not leave servers behind.
    process.once('exit', () => {
      for (const left of [...live]) {
        left.kill();
        left.remove();
      }
    });
  }
  return instance;
}

/** Kills and deletes instances whose owner process is gone (a run that was killed outright). */
export function reapOrphans(): void {
  if (!existsSync(BASE)) return;
  for (const name of readdirSync(BASE)) {
    const dir = join(BASE, name);
    let owner = 0;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue;
    }
    if (owner > 0 && alive(owner)) continue;
    for (const pidFile of [join(dir, 'data', 'postmaster.pid'), join(dir, 'rabbitmq.pid'), join(dir, 'redis.pid')]) {
      try {
        const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
        if (pid > 0) process.kill(pid, pidFile.endsWith('postmaster.pid') ? 'SIGQUIT' : 'SIGKILL');
      } catch {
        // no such server, or already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function accountOf(user: string): { uid: number; gid: number } {
  if (user === userInfo().username) return { uid: userInfo().uid, gid: userInfo().gid };
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

function writeOwned(file: string, content: string, user: string, mode = 0o644): void {
  writeFileSync(file, content, { mode });
  const { uid, gid } = accountOf(user);
  chownSync(file, uid, gid);
}

/** Runs a command as `user` (through runuser when we are root and they are not us). */
async function runAs(user: string, env: Record<string, string>, command: string, args: string[], timeoutMs: number) {
  const assignments = Object.entries(env).map(([key, value]) => `${key}=${value}`);
  const asOther = isRoot() && user !== userInfo().username;
  const [file, argv] = asOther
    ? ['runuser', ['-u', user, '--', 'env', ...assignments, command, ...args]]
    : ['env', [...assignments, command, ...args]];
  try {
    // cwd: the Debian scripts cd into it, and a directory the other account can read.
    return await exec(file, argv, { timeout: timeoutMs, cwd: '/', maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const failure = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${failure.message}\n${failure.stdout ?? ''}${failure.stderr ?? ''}`);
  }
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await probeTcp('127.0.0.1', port, 1_000);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms: ${(error as Error).message}`);
      await sleep(50);
    }
  }
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

function tailOf(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
