import postgres from 'postgres';
import { cpuTicks, pidsNamed, type Stack } from '@cupo/stack';

/**
 * CPU time spent on a piece of load, summed over every process that served it, read from
 * /proc/<pid>/stat (utime + stime) before and after:
 *   - the stack's own processes (gateway, services, stand-ins), by pid;
 *   - the PostgreSQL backends connected to the stack's databases (pg_stat_activity), by pid;
 *   - the shared Redis and RabbitMQ servers, whole (by process name): on a machine where
 *     others use them too, their share includes other tenants' work, so it is shown apart;
 *   - the load generator (this process).
 * `perOp` divides by the operations the load made: CPU milliseconds per booking or request.
 */
const TICK_MS = 10; // USER_HZ = 100 on Linux

export interface CpuSample {
  /** CPU ms by group: services (each process kind), postgres (this stack's backends), redis, rabbitmq, load generator. */
  ms: Record<string, number>;
  /** Sum of every group but the load generator. */
  totalMs: number;
}

export class CpuMeter {
  private readonly admin: postgres.Sql;
  private readonly databases: string[];

  constructor(
    private readonly stack: Pick<Stack, 'processes' | 'databaseUrls'>,
    pgUrl: string,
  ) {
    this.admin = postgres(pgUrl, { max: 1, onnotice: () => undefined });
    this.databases = Object.values(stack.databaseUrls).map((url) => new URL(url).pathname.slice(1));
  }

  private async groups(): Promise<Map<string, number[]>> {
    const groups = new Map<string, number[]>();
    for (const proc of this.stack.processes) {
      if (!proc.child.pid || proc.child.exitCode !== null) continue;
      const kind = proc.name.replace(/-\d+$/, '').replace(/^stand-in-.*/, 'stand-ins');
      groups.set(kind, [...(groups.get(kind) ?? []), proc.child.pid]);
    }
    const backends = await this.admin<{ pid: number }[]>`
      SELECT pid FROM pg_stat_activity WHERE datname IN ${this.admin(this.databases)}`;
    groups.set(
      'postgres',
      backends.map((b) => b.pid),
    );
    groups.set('redis', pidsNamed('redis-server'));
    groups.set('rabbitmq', pidsNamed('beam.smp'));
    return groups;
  }

  /** Starts a measurement; the returned function ends it. */
  async start(): Promise<() => Promise<CpuSample>> {
    const before = new Map<number, number>();
    for (const pids of (await this.groups()).values()) for (const pid of pids) before.set(pid, cpuTicks(pid));
    const own = process.cpuUsage();
    return async () => {
      const ms: Record<string, number> = {};
      // Backends that connected during the load count from 0; ones that left took their time with them
      // (pools keep their connections, so the load's own backends are here at both ends).
      for (const [group, pids] of await this.groups()) {
        ms[group] = pids.reduce((sum, pid) => sum + Math.max(0, cpuTicks(pid) - (before.get(pid) ?? 0)), 0) * TICK_MS;
      }
      const totalMs = Object.values(ms).reduce((a, b) => a + b, 0);
      const usage = process.cpuUsage(own);
      ms['load generator'] = (usage.user + usage.system) / 1000;
      return { ms, totalMs };
    };
  }

  async close(): Promise<void> {
    await this.admin.end({ timeout: 5 });
  }
}

/** One line: CPU ms per operation, all processes, and by group (largest first). */
export function cpuLine(sample: CpuSample, ops: number, what: string): string {
  const per = (ms: number) => (ms / Math.max(1, ops)).toFixed(2);
  const parts = Object.entries(sample.ms)
    .filter(([group]) => group !== 'load generator')
    .sort((a, b) => b[1] - a[1])
    .map(([group, ms]) => `${group} ${per(ms)}`);
  return `  CPU per ${what}: ${per(sample.totalMs)} ms over every process, ${per(ownMs(sample))} ms of it this stack's own (${parts.join(', ')}; redis and rabbitmq are the whole shared servers, other tenants included) + load generator ${per(sample.ms['load generator'] ?? 0)} ms`;
}

/** The stack's own CPU: its processes and its PostgreSQL backends, not the shared Redis and RabbitMQ. */
export const ownMs = (sample: CpuSample) =>
  Object.entries(sample.ms)
    .filter(([group]) => !['redis', 'rabbitmq', 'load generator'].includes(group))
    .reduce((sum, [, ms]) => sum + ms, 0);
