import { connect } from 'node:net';
import { createVhost, deleteVhost } from './rabbitmq.js';

export interface Dependency {
  name: string;
  url: string;
  defaultPort: number;
  /** What to tell someone whose dependency is not running. */
  howToStart: string;
}

export function dependencies(urls: { postgres: string; redis: string; amqp: string }): Dependency[] {
  return [
    {
      name: 'PostgreSQL',
      url: urls.postgres,
      defaultPort: 5432,
      howToStart:
        "start it with 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' (Debian) or 'docker run -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16', or point PG_URL at yours",
    },
    {
      name: 'Redis',
      url: urls.redis,
      defaultPort: 6379,
      howToStart: "start it with 'redis-server --daemonize yes' or 'docker run -p 6379:6379 redis:7', or point REDIS_URL at yours",
    },
    {
      name: 'RabbitMQ',
      url: urls.amqp,
      defaultPort: 5672,
      howToStart:
        "start it with 'rabbitmq-server -detached' or 'docker run -p 5672:5672 rabbitmq:3-management', or point AMQP_URL at yours",
    },
  ];
}

/** Resolves when a TCP connection opens; rejects after `timeoutMs`. */
export function probeTcp(host: string, port: number, timeoutMs = 2_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('timed out'));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** One message per dependency that does not accept a TCP connection, naming it and how to start it. */
export async function unreachable(deps: Dependency[]): Promise<string[]> {
  const failures = await Promise.all(
    deps.map(async (dep) => {
      const url = new URL(dep.url);
      const port = Number(url.port || dep.defaultPort);
      try {
        await probeTcp(url.hostname, port);
        return undefined;
      } catch (error) {
        return `${dep.name} is not reachable at ${url.hostname}:${port} (${(error as Error).message}): ${dep.howToStart}`;
      }
    }),
  );
  return failures.filter((failure): failure is string => failure !== undefined);
}

/** Checks every dependency and throws one message naming each unreachable one and how to start it. */
export async function assertReachable(deps: Dependency[]): Promise<void> {
  const failures = await unreachable(deps);
  if (failures.length > 0) throw new Error(failures.join('\n'));
}

/**
 * Whether this user can make the per-run virtual hosts the tests isolate themselves in
 * (createVhost: rabbitmqctl, which Debian's wrapper allows only root and rabbitmq, or the
 * management plugin) — by making and deleting one, the only answer that cannot be wrong.
 */
export async function checkVhostAdmin(amqpUrl: string): Promise<{ ok: boolean; line: string }> {
  const vhost = `cupo-preflight-${process.pid}-${Date.now().toString(36)}`;
  try {
    await createVhost(amqpUrl, vhost);
    await deleteVhost(amqpUrl, vhost);
    return { ok: true, line: 'RabbitMQ virtual hosts ok (the tests can create their own)' };
  } catch (error) {
    const management = process.env.RABBITMQ_MANAGEMENT_URL ?? `http://${new URL(amqpUrl).hostname}:15672`;
    return {
      ok: false,
      line:
        `RabbitMQ: this user cannot create the tests' virtual hosts (rabbitmqctl not usable here, management API at ${management}: ` +
        `${(error as Error).message}): enable the management plugin ('rabbitmq-plugins enable rabbitmq_management'; ` +
        'RABBITMQ_MANAGEMENT_URL if it is not there), or run as a user rabbitmqctl accepts (root or rabbitmq on Debian)',
    };
  }
}
