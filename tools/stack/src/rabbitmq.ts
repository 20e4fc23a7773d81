import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * How to reach the broker's rabbitmqctl: by default the machine's own (its default node);
 * a private node passes its own (`rabbitmqctl -n <node>` with its cookie).
 */
export type Rabbitmqctl = (args: string[]) => Promise<unknown>;

/**
 * Per-run virtual hosts keep test runs from seeing each other's queues. They are made with
 * rabbitmqctl on the broker's machine, or through the management API where it is enabled.
 */
export async function createVhost(amqpUrl: string, vhost: string, ctl?: Rabbitmqctl): Promise<void> {
  const user = decodeURIComponent(new URL(amqpUrl).username || 'guest');
  const rabbitmqctl = ctl ?? ((await hasRabbitmqctl()) ? defaultCtl : undefined);
  if (rabbitmqctl) {
    await rabbitmqctl(['add_vhost', vhost]);
    await rabbitmqctl(['set_permissions', '-p', vhost, user, '.*', '.*', '.*']);
    return;
  }
  await management(amqpUrl, 'PUT', `/api/vhosts/${encodeURIComponent(vhost)}`);
  await management(amqpUrl, 'PUT', `/api/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}`, {
    configure: '.*',
    write: '.*',
    read: '.*',
  });
}

export async function deleteVhost(amqpUrl: string, vhost: string, ctl?: Rabbitmqctl): Promise<void> {
  const rabbitmqctl = ctl ?? ((await hasRabbitmqctl()) ? defaultCtl : undefined);
  if (rabbitmqctl) {
    await rabbitmqctl(['delete_vhost', vhost]).catch(() => undefined);
    return;
  }
  await management(amqpUrl, 'DELETE', `/api/vhosts/${encodeURIComponent(vhost)}`).catch(() => undefined);
}

/** The AMQP URL for `vhost` on the same broker. */
export function amqpUrlFor(amqpUrl: string, vhost: string): string {
  const url = new URL(amqpUrl);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return url.toString();
}

const defaultCtl: Rabbitmqctl = (args) => run('rabbitmqctl', args);

async function hasRabbitmqctl(): Promise<boolean> {
  try {
    await run('rabbitmqctl', ['--version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

async function management(amqpUrl: string, method: string, path: string, body?: unknown): Promise<void> {
  const url = new URL(amqpUrl);
  const base = process.env.RABBITMQ_MANAGEMENT_URL ?? `http://${url.hostname}:15672`;
  const auth = Buffer.from(
    `${decodeURIComponent(url.username || 'guest')}:${decodeURIComponent(url.password || 'guest')}`,
  ).toString('base64');
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    throw new Error(
      `RabbitMQ management API ${method} ${path} answered ${response.status}: neither rabbitmqctl nor the management plugin is usable`,
    );
  }
}
