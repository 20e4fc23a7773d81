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

/**
 * Closes every connection of `vhost` named `connectionName` (the name a service gives its
 * connection) as the broker would on a fault: the clients reconnect, and what their consumers
 * held unacked is delivered again — possibly to another replica while the first one is still
 * working on it. Returns how many it closed.
 */
export async function closeConnections(amqpUrl: string, vhost: string, connectionName: string): Promise<number> {
  if (await hasRabbitmqctl()) {
    const { stdout } = await run('rabbitmqctl', ['list_connections', '-q', '-p', vhost, 'pid', 'client_properties']);
    const pids = stdout
      .split('\n')
      .map((line) => line.split('\t'))
      .filter(([, props]) => props?.includes(`{"connection_name","${connectionName}"}`))
      .map(([pid]) => pid!);
    await Promise.all(pids.map((pid) => run('rabbitmqctl', ['close_connection', pid, 'closed by a test'])));
    return pids.length;
  }
  const list = (await management(amqpUrl, 'GET', `/api/vhosts/${encodeURIComponent(vhost)}/connections`)) as {
    name: string;
    client_properties?: { connection_name?: string };
  }[];
  const mine = list.filter((c) => c.client_properties?.connection_name === connectionName);
  await Promise.all(mine.map((c) => management(amqpUrl, 'DELETE', `/api/connections/${encodeURIComponent(c.name)}`)));
  return mine.length;
}

/** Messages in each queue of `vhost`, ready and unacknowledged together. */
export async function queueMessages(amqpUrl: string, vhost: string): Promise<Record<string, number>> {
  if (await hasRabbitmqctl()) {
    const { stdout } = await run('rabbitmqctl', ['list_queues', '-q', '-p', vhost, 'name', 'messages']);
    return Object.fromEntries(
      stdout
        .split('\n')
        .map((line) => line.split('\t'))
        .filter((cells) => cells.length === 2 && cells[0] !== 'name')
        .map(([name, count]) => [name!, Number(count)]),
    );
  }
  const list = (await management(amqpUrl, 'GET', `/api/queues/${encodeURIComponent(vhost)}`)) as { name: string; messages?: number }[];
  return Object.fromEntries(list.map((q) => [q.name, q.messages ?? 0]));
}

async function hasRabbitmqctl(): Promise<boolean> {
  try {
    await run('rabbitmqctl', ['--version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

async function management(amqpUrl: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const url = new URL(amqpUrl);
  const base = process.env.RABBITMQ_MANAGEMENT_URL ?? `http://${url.hostname}:15672`;
  const auth = Buffer.from(`${decodeURIComponent(url.username || 'guest')}:${decodeURIComponent(url.password || 'guest')}`).toString(
    'base64',
  );
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
  return method === 'GET' ? response.json() : undefined;
}
