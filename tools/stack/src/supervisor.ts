import type { ServiceProcess } from './processes.js';
import type { Stack } from './stack.js';

export interface SupervisorOptions {
  /** Starts a replacement for a process that exited; resolves once it is ready, rejects if it is not. */
  restart(proc: ServiceProcess): Promise<ServiceProcess>;
  log(line: string): void;
  /** Wait before the first restart; each further restart in a row waits twice as long. @defaultValue 1000 */
  initialDelayMs?: number;
  /** The longest wait between restarts. @defaultValue 30000 */
  maxDelayMs?: number;
  /** A process that ran this long was healthy: if it dies, the backoff starts over. @defaultValue 30000 */
  stableAfterMs?: number;
}

/**
 * Restarts processes that die, as Kubernetes (restartPolicy Always, with CrashLoopBackOff)
 * and compose (`restart: unless-stopped`) do: any exit that is not part of a shutdown is a
 * death, whatever its code. The wait doubles for each restart in a row, so a replica that
 * cannot start (its database gone, a bad release) is retried without spinning the machine.
 */
export class Supervisor {
  private stopping = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Restarts in a row per process name; reset once a process has run `stableAfterMs`. */
  private readonly streaks = new Map<string, number>();
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly stableAfterMs: number;

  constructor(private readonly options: SupervisorOptions) {
    this.initialDelayMs = options.initialDelayMs ?? 1_000;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.stableAfterMs = options.stableAfterMs ?? 30_000;
  }

  /** Watches a running process; when it exits outside a shutdown, restarts it. */
  watch(proc: ServiceProcess): void {
    const startedAt = Date.now();
    void proc.exited.then((code) => {
      if (this.stopping) return;
      if (Date.now() - startedAt >= this.stableAfterMs) this.streaks.delete(proc.name);
      const how = proc.child.signalCode ? `signal ${proc.child.signalCode}` : `code ${code}`;
      this.schedule(proc, `${proc.name} exited unexpectedly (${how}); see ${proc.logFile}`);
    });
  }

  /**
   * A shutdown begins: processes that exit from now on stay down, and no restart that is
   * waiting starts. Call it before stopping the processes.
   */
  stop(): void {
    this.stopping = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(proc: ServiceProcess, why: string): void {
    const streak = this.streaks.get(proc.name) ?? 0;
    this.streaks.set(proc.name, streak + 1);
    const delay = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** streak);
    this.options.log(`${why}; restarting it in ${formatDelay(delay)} (restart ${streak + 1} in a row)`);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.stopping) return;
      void this.options.restart(proc).then(
        (fresh) => {
          if (this.stopping) return;
          this.options.log(`${fresh.name} restarted (pid ${fresh.child.pid}, ops port ${fresh.port})`);
          this.watch(fresh);
        },
        (error: unknown) => {
          if (this.stopping) return;
          const reason = String((error as Error)?.message ?? error).split('\n')[0];
          this.schedule(proc, `${proc.name} did not start again (${reason})`);
        },
      );
    }, delay);
    this.timers.add(timer);
  }
}

/** Supervises every process of a stack, restarting each in its place (same name, port, environment). */
export function superviseStack(
  stack: Pick<Stack, 'processes' | 'respawn'>,
  log: (line: string) => void,
  options: Omit<SupervisorOptions, 'restart' | 'log'> = {},
): Supervisor {
  const supervisor = new Supervisor({ ...options, restart: (proc) => stack.respawn(proc), log });
  for (const proc of stack.processes) supervisor.watch(proc);
  return supervisor;
}

const formatDelay = (ms: number) => (ms >= 1_000 && ms % 1_000 === 0 ? `${ms / 1_000} s` : `${ms} ms`);
