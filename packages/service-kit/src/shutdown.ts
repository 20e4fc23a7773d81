import type { Server } from 'node:http';
import type { Logger } from 'pino';

/** The time one shutdown step may take: it is abandoned (not awaited further) after it. */
export interface ShutdownBudget {
  ms: number;
  /** Epoch ms. */
  deadline: number;
}

export interface ShutdownStep {
  name: string;
  /**
   * The step's weight when the time left is shared out (default 1): a step that drains work
   * gets a large one, closing a client the default.
   */
  weight?: number;
  /**
   * A fixed wait the step must get whole (the gateway's drain delay): its weight is then
   * `weightFor(needsMs, …)` against the steps after it, instead of `weight`.
   */
  needsMs?: number;
  run: (budget: ShutdownBudget) => Promise<void>;
}

/**
 * Runs the shutdown steps once, in order, each guarded so one failure does not keep the
 * next resource open, all inside one deadline, `timeoutMs` (keep it under the pod's
 * terminationGracePeriodSeconds). When a step starts, the time left is shared out among it
 * and the steps after it by weight: a step gets its share (plus whatever earlier steps left
 * unused) and is abandoned when the share runs out, so one slow drain can never eat the time
 * the steps after it need, and the sum of the steps never passes the deadline. Steps that
 * drain work are expected to hand back what they cannot finish within their budget.
 * Calling it again returns the same promise.
 */
export function createShutdown(logger: Logger, given: ShutdownStep[], timeoutMs = 25_000) {
  const steps = given.map((step, index) =>
    step.needsMs === undefined ? step : { ...step, weight: weightFor(step.needsMs, timeoutMs, weightOf(given.slice(index + 1))) },
  );
  let running: Promise<void> | undefined;
  return function shutdown(reason: string): Promise<void> {
    running ??= (async () => {
      const started = Date.now();
      logger.info({ reason, timeoutMs }, 'shutting down');
      // The last resort, for a step that blocks the event loop itself.
      const forced = setTimeout(() => {
        logger.error({ timeoutMs }, 'shutdown timed out; exiting');
        process.exit(1);
      }, timeoutMs);
      forced.unref();
      // A little before the forced exit, so the last step's log line and the exit make it.
      const deadline = started + timeoutMs - exitMargin(timeoutMs);
      for (const [index, step] of steps.entries()) {
        const weightLeft = weightOf(steps.slice(index));
        const ms = Math.max(0, Math.floor(((deadline - Date.now()) * (step.weight ?? 1)) / weightLeft));
        const stepStarted = Date.now();
        let timer: NodeJS.Timeout | undefined;
        // Settled either way, so an abandoned step that fails later is no unhandled rejection.
        const work = (async () => step.run({ ms, deadline: stepStarted + ms }))().then(
          () => ({ done: true as const }),
          (error: unknown) => ({ done: true as const, error }),
        );
        const outcome = await Promise.race([
          work,
          new Promise<{ done: false }>((resolve) => (timer = setTimeout(() => resolve({ done: false }), ms))),
        ]);
        clearTimeout(timer);
        if (!outcome.done) logger.error({ step: step.name, budgetMs: ms }, 'shutdown step overran its share of the deadline; moving on');
        else if ('error' in outcome) logger.error({ step: step.name, err: outcome.error }, 'shutdown step failed');
        else logger.info({ step: step.name, ms: Date.now() - stepStarted, budgetMs: ms }, 'shutdown step done');
      }
      clearTimeout(forced);
      logger.info({ ms: Date.now() - started }, 'shutdown complete');
    })();
    return running;
  };
}

const weightOf = (steps: ShutdownStep[]) => steps.reduce((sum, s) => sum + (s.weight ?? 1), 0);

/** How long before `timeoutMs` the steps' deadline falls (the forced exit's margin). */
const exitMargin = (timeoutMs: number) => Math.min(500, Math.floor(timeoutMs / 10));

/**
 * The weight that gives a step at least `needMs` of a shutdown of `timeoutMs`, when the steps
 * after it weigh `restWeight` together and the steps before it take no time (they only flip
 * flags): a fixed wait, such as the gateway's drain delay, must not be cut short by its share.
 */
export function weightFor(needMs: number, timeoutMs: number, restWeight: number): number {
  if (needMs <= 0) return 0.001;
  const available = timeoutMs - exitMargin(timeoutMs);
  // 2% over: the milliseconds the earlier steps do take must not cut the wait short.
  return (restWeight * needMs * 1.02) / Math.max(1, available - needMs * 1.02);
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
