import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { startOpsServer, type ReadinessCheck } from './health.js';
import { createLogger } from './logger.js';
import { createMetricsRegistry } from './metrics.js';
import { closeHttpServer, createShutdown, exitOnSignals, type ShutdownStep } from './shutdown.js';
import { startTelemetry } from './telemetry.js';

/** What every service's config has (serviceEnv.base(); HTTP_PORT from serviceEnv.ops()). */
export interface ServiceConfig {
  LOG_LEVEL: string;
  SHUTDOWN_TIMEOUT_MS: number;
  HTTP_PORT?: number;
}

/** What a service is given to wire itself. */
export interface ServiceContext<C> {
  config: C;
  logger: Logger;
  registry: Registry;
  /** This replica's name, `<service>@<host>:<pid>`: how ops reports tell replicas apart. */
  instance: string;
  /** True from the first shutdown step on: the replica is no longer ready and is winding down. */
  isDraining: () => boolean;
}

/** The clients the common close steps close, in this order, after the service's own steps. */
export interface ServiceClients {
  rpc?: { close(): Promise<void> };
  amqp?: { close(): Promise<void> };
  redis?: { quit(): Promise<unknown> };
  sql?: { end(options: { timeout: number }): Promise<void> };
}

/** A client built from the shared env shapes with its /readyz check (`@cupo/database`'s postgresFromEnv, …). */
export interface Dependency<T> {
  client: T;
  check: ReadinessCheck;
}

/**
 * The shared servers a service uses, as their packages connect them from serviceEnv's settings:
 * each is asked by /readyz under its key and closed by the common steps (see ServiceClients).
 */
export interface ServiceDependencies {
  postgres?: Dependency<NonNullable<ServiceClients['sql']>>;
  redis?: Dependency<NonNullable<ServiceClients['redis']>>;
  rabbitmq?: Dependency<NonNullable<ServiceClients['amqp']>>;
}

/** A service as its main.ts wires it: what only it knows. */
export interface ServiceWiring {
  /** The shared servers it uses: /readyz asks each, the common steps close each. */
  uses?: ServiceDependencies;
  /** Further dependencies /readyz asks (each within its timeout) once the service has started. */
  checks?: Record<string, ReadinessCheck>;
  /** Attaches consumers and starts loops; the replica is ready once this resolves. */
  start: () => Promise<void>;
  /**
   * The service's own shutdown steps, in order: stop taking work, finish what is in hand, flush.
   * They run after the replica is marked not ready and before the common steps close `clients`.
   */
  stop: ShutdownStep[];
  /** Clients not in `uses` (the RPC client; a client /readyz should not wait on) that the common steps close. */
  clients?: ServiceClients;
  /** Fields for the `ready` log line. */
  ready?: Record<string, unknown>;
}

export interface ServiceOptions<C extends ServiceConfig> {
  /** The service's name: its logs' `service`, its metrics' `service` label. */
  name: string;
  loadConfig: () => C;
  /** The ops port (/healthz, /readyz, /metrics) from the config; unset: its HTTP_PORT. */
  opsPort?: (config: C) => number;
  /**
   * When the ops server closes: `last` (the default), so probes see the replica draining to the
   * end, or `before-clients`, right after the service's own steps.
   */
  closeOpsServer?: 'last' | 'before-clients';
  wire: (context: ServiceContext<C>) => ServiceWiring | Promise<ServiceWiring>;
}

/**
 * The skeleton every service runs in (eShop's ServiceDefaults): config, logger and metrics;
 * the ops server with /healthz, /readyz and /metrics, not ready until the service has started
 * and not ready again from the first shutdown step; SIGTERM and SIGINT (and a launcher that
 * goes away) run the shutdown once, within SHUTDOWN_TIMEOUT_MS: mark not ready, the service's
 * own steps, then the common ones closing its RPC client, AMQP, Redis and PostgreSQL in that
 * order, and the ops server. A failure before the service is ready ends the process (exit 1):
 * the orchestrator starts it again. OpenTelemetry starts before all of it (telemetry.ts) and
 * flushes its last spans as the final shutdown step.
 */
export function runService<C extends ServiceConfig>(options: ServiceOptions<C>): void {
  run(options).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

async function run<C extends ServiceConfig>(options: ServiceOptions<C>): Promise<void> {
  const { name } = options;
  const instance = `${name}@${hostname()}:${process.pid}`;
  // First: the instrumentations patch http, express and ioredis before the service uses them.
  const telemetry = await startTelemetry({ service: name, instance });
  const config = options.loadConfig();
  const logger = createLogger({ service: name, level: config.LOG_LEVEL });
  const registry = createMetricsRegistry(name);
  let accepting = false;
  let draining = false;
  // Filled once the service is wired: until it has started, /readyz answers 503 without asking.
  const checks: Record<string, ReadinessCheck> = {};
  const opsPort = options.opsPort ? options.opsPort(config) : config.HTTP_PORT;
  if (opsPort === undefined) throw new Error(`${name}: no ops port (set opsPort or have HTTP_PORT in the config)`);
  const ops = await startOpsServer({ port: opsPort, logger, registry, checks, isAccepting: () => accepting });
  const service = await options.wire({ config, logger, registry, instance, isDraining: () => draining });
  const uses = service.uses ?? {};
  for (const [key, dependency] of Object.entries(uses)) if (dependency) checks[key] = dependency.check;
  Object.assign(checks, service.checks);

  const closeOps: ShutdownStep = { name: 'close ops server', run: () => closeHttpServer(ops.server) };
  const closeClients = clientSteps({
    sql: uses.postgres?.client,
    redis: uses.redis?.client,
    amqp: uses.rabbitmq?.client,
    ...service.clients,
  });
  const shutdown = createShutdown(
    logger,
    [
      {
        name: 'mark not ready',
        run: async () => {
          accepting = false;
          draining = true;
        },
      },
      ...service.stop,
      ...(options.closeOpsServer === 'before-clients' ? [closeOps, ...closeClients] : [...closeClients, closeOps]),
      ...(telemetry.enabled ? [{ name: 'flush traces', run: () => telemetry.shutdown() }] : []),
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
  exitOnSignals(shutdown);

  await service.start();
  accepting = true;
  logger.info({ opsPort: ops.port, instance, ...service.ready }, `${name} ready`);
}

/** The RPC client before the AMQP connection it runs on, then Redis and PostgreSQL. */
function clientSteps(clients: ServiceClients): ShutdownStep[] {
  const { rpc, amqp, redis, sql } = clients;
  return [
    ...(rpc ? [{ name: 'close rpc client', run: () => rpc.close() }] : []),
    ...(amqp ? [{ name: 'close amqp', run: () => amqp.close() }] : []),
    ...(redis ? [{ name: 'close redis', run: async () => void (await redis.quit()) }] : []),
    ...(sql ? [{ name: 'close postgres', run: ({ ms }: { ms: number }) => sql.end({ timeout: ms / 1000 }) }] : []),
  ];
}
