import type { Server } from 'node:http';
import type { Logger } from 'pino';

export interface ShutdownStep {
  name: string;
  run: () => Promise<void>;
}

/**
 * Runs the shutdown steps once, in order, each guarded so one failure does not keep the
 * next resource open, and the whole bounded by `timeoutMs` (keep it under the pod's
 * terminationGracePeriodSeconds). Calling it again returns the same promise.
 */
export function createShutdown(logger: Logger, steps: ShutdownStep[], timeoutMs = 25_000) {
  let running: Promise<void> | undefined;
  return function shutdown(reason: string): Promise<void> {
    running ??= (async () => {
      logger.info({ reason }, 'shutting down');
      const deadline = setTimeout(() => {
        logger.error({ timeoutMs }, 'shutdown timed out; exiting');
        process.exit(1);
      }, timeoutMs);
      deadline.unref();
      for (const step of steps) {
        const started = Date.now();
        try {
          await step.run();
          logger.info({ step: step.name, ms: Date.now() - started }, 'shutdown step done');
        } catch (error) {
          logger.error({ step: step.name, err: error }, 'shutdown step failed');
        }
      }
      clearTimeout(deadline);
      logger.info('shutdown complete');
    })();
    return running;
  };
}

/** Wires SIGTERM and SIGINT to a shutdown function and exits when it has finished. */
export function exitOnSignals(shutdown: (reason: string) => Promise<void>): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void shutdown(signal).then(() => process.exit(0));
    });
  }
  // Started by a local launcher (make run, tests, bench) with an IPC channel: shut down when
  // that launcher goes away. Containers have no such channel and are unaffected.
  if (process.channel) {
    process.channel.unref();
    process.once('disconnect', () => {
      void shutdown('launcher exited').then(() => process.exit(0));
    });
  }
}

/** Stops accepting connections and waits for in-flight requests to finish. */
export function closeHttpServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    // Idle keep-alive sockets would otherwise hold close() open until they time out; a
    // socket whose request was still running at close() turns idle once it has answered,
    // so idle ones are closed again until the last is gone.
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    server.close((error) => {
      clearInterval(sweep);
      if (error) reject(error);
      else resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * Runs `task` every `intervalMs`, one run at a time (the next is scheduled when the last
 * ends), and logs failures instead of crashing: background sweeps of a service.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly task: () => Promise<void>,
    private readonly logger: { warn: (obj: object, msg: string) => void },
  ) {}

  start(): void {
    this.schedule();
  }

  /** Stops scheduling and waits for a run in progress; safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.task()
        .catch((error: unknown) => this.logger.warn({ err: error, task: this.name }, 'periodic task failed'))
        .finally(() => this.schedule());
    }, this.intervalMs);
  }
}
