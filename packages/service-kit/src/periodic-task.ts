import { Histogram, type Registry } from 'prom-client';

export interface PeriodicTaskOptions {
  /** What the logs call it: a sentence. */
  name: string;
  intervalMs: number;
  /**
   * Where `periodic_task_duration_seconds{task, outcome}` is kept, and the task's short label
   * on it: how long each pass took — the figure to watch for a background job whose cost grows
   * with history (`make bench-scale` prints it per task).
   */
  metrics?: { registry: Registry; task: string };
}

/** Passes of background jobs run from well under a millisecond to whole seconds. */
const PASS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function passHistogram(registry: Registry): Histogram<'task' | 'outcome'> {
  return (
    (registry.getSingleMetric('periodic_task_duration_seconds') as Histogram<'task' | 'outcome'> | undefined) ??
    new Histogram({
      name: 'periodic_task_duration_seconds',
      help: 'Time one pass of a background periodic task took, by task and outcome (ok, failed)',
      labelNames: ['task', 'outcome'],
      buckets: PASS_BUCKETS,
      registers: [registry],
    })
  );
}

/**
 * Runs `task` every `intervalMs`, one run at a time (the next is scheduled when the last
 * ends), and logs failures instead of crashing: background sweeps of a service.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private readonly name: string;
  private readonly intervalMs: number;
  private readonly passes: { histogram: Histogram<'task' | 'outcome'>; task: string } | undefined;

  constructor(
    options: PeriodicTaskOptions,
    private readonly task: () => Promise<void>,
    private readonly logger: { warn: (obj: object, msg: string) => void },
  ) {
    this.name = options.name;
    this.intervalMs = options.intervalMs;
    this.passes = options.metrics && { histogram: passHistogram(options.metrics.registry), task: options.metrics.task };
  }

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
      const end = this.passes?.histogram.startTimer({ task: this.passes.task });
      this.running = this.task()
        .then(
          () => end?.({ outcome: 'ok' }),
          (error: unknown) => {
            end?.({ outcome: 'failed' });
            this.logger.warn({ err: error, task: this.name }, 'periodic task failed');
          },
        )
        .finally(() => this.schedule());
    }, this.intervalMs);
  }
}
