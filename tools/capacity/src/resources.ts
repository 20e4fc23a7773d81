import { readFileSync } from 'node:fs';
import { cpuTicks, pidsNamed } from '@cupo/stack';
import type postgres from 'postgres';

/**
 * CPU time per component, read from /proc over an interval: our own service processes by
 * pid, and PostgreSQL, RabbitMQ (beam.smp) and Redis by process name (all their processes,
 * backends included). Reported as cores (1.0 = one core fully busy).
 */
const TICK = 100; // USER_HZ on Linux

function machineBusy(): { busy: number; total: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const numbers = values.map(Number);
  const idle = numbers[3]! + numbers[4]!;
  const total = numbers.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

export interface ResourceSample {
  seconds: number;
  /** Cores used, per component. */
  cores: Record<string, number>;
  /** Share of the machine's CPU in use (0–1). */
  machine: number;
  /** Mean number of PostgreSQL backends waiting on a lock (row or transaction id), sampled. */
  pgLockWaiters: number;
}

export class ResourceMonitor {
  private readonly start: Map<string, number> = new Map();
  private startedAt = 0;
  private machineStart = { busy: 0, total: 0 };
  private lockSamples: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ownStart = process.cpuUsage();

  constructor(
    private readonly groups: () => Record<string, number[]>,
    private readonly db: postgres.Sql,
  ) {}

  private totals(): Map<string, number> {
    const groups = { ...this.groups(), postgres: pidsNamed('postgres'), rabbitmq: pidsNamed('beam.smp'), redis: pidsNamed('redis-server') };
    return new Map(Object.entries(groups).map(([name, pids]) => [name, pids.reduce((sum, pid) => sum + cpuTicks(pid), 0)]));
  }

  begin(): void {
    this.start.clear();
    for (const [name, ticks] of this.totals()) this.start.set(name, ticks);
    this.startedAt = performance.now();
    this.machineStart = machineBusy();
    this.ownStart = process.cpuUsage();
    this.lockSamples = [];
    this.timer = setInterval(() => {
      this.db`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'`
        .then(([row]) => this.lockSamples.push(row?.n ?? 0))
        .catch(() => undefined);
    }, 100);
  }

  end(): ResourceSample {
    clearInterval(this.timer);
    const seconds = (performance.now() - this.startedAt) / 1000;
    const cores: Record<string, number> = {};
    // PostgreSQL backends that exited during the interval take their CPU time with them;
    // pools keep their connections open, so the figure covers the load's own backends.
    for (const [name, ticks] of this.totals()) {
      cores[name] = Math.max(0, (ticks - (this.start.get(name) ?? 0)) / TICK / seconds);
    }
    const own = process.cpuUsage(this.ownStart);
    cores['load generator'] = (own.user + own.system) / 1e6 / seconds;
    const machineEnd = machineBusy();
    const machine = (machineEnd.busy - this.machineStart.busy) / Math.max(1, machineEnd.total - this.machineStart.total);
    const pgLockWaiters = this.lockSamples.reduce((a, b) => a + b, 0) / Math.max(1, this.lockSamples.length);
    return { seconds, cores, machine, pgLockWaiters };
  }
}
