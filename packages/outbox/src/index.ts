import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { traceContextOf, withTraceHeaders, type ConfirmedPublisher } from '@cupo/amqp';
import type { CircuitBreakers } from '@cupo/circuit-breakers';
import { withDatabase, type Sql } from '@cupo/database';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from 'pino';

interface OutboxRow {
  id: string;
  exchange: string;
  routing_key: string;
  payload: unknown;
  headers: Record<string, unknown>;
  created_at: Date;
}

export * from './migration.js';

/**
 * What a store that writes outbox rows holds: it calls `kick()` right after its own commit of
 * a transaction that wrote any (never inside the transaction — the relay would not see the
 * rows yet), so the message leaves now rather than at the next poll. An `OutboxRelay` is one.
 */
export interface OutboxKick {
  kick(): void;
}

/**
 * Runs `work` (which commits before it resolves) and kicks the relay when `wrote` says the
 * committed work wrote outbox rows. Nothing is kicked when the work fails.
 */
export async function kickingAfterCommit<T>(
  relay: OutboxKick,
  work: () => Promise<T>,
  wrote: (result: T) => boolean = () => true,
): Promise<T> {
  const result = await work();
  if (wrote(result)) relay.kick();
  return result;
}

/**
 * The headers to store with an outbox row: `headers` plus the W3C trace context of the unit of
 * work writing it (`traceparent`, when tracing is on), so the relay publishes the message as
 * part of that trace however much later it goes out.
 */
export function outboxHeaders(headers: Record<string, unknown> = {}): Record<string, unknown> {
  return withTraceHeaders(headers);
}

/** The stored trace headers, which the publish replaces with its own span's. */
const TRACE_HEADERS = new Set(['traceparent', 'tracestate', 'baggage']);
const withoutTrace = (headers: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(headers ?? {}).filter(([key]) => !TRACE_HEADERS.has(key)));

/** The relay works on the `outbox` table of migration.ts, which each service's migrations create. */
export interface OutboxRelayOptions {
  batchSize: number;
  /** The fallback poll: rows whose writer died before kicking its relay go out this late. */
  pollMs: number;
  logger: Logger;
  registry: Registry;
  /** Breakers the relay's database work and publishing go through. */
  breakerNames?: { database: string; publishing: string };
}

/**
 * Publishes what transactions wrote to the outbox. A batch is locked with SKIP LOCKED (so
 * replicas share the work), published with confirms, and deleted in the same transaction:
 * a crash before the commit leaves the rows to be published again, so a message may go out
 * twice but never zero times — consumers are idempotent for exactly this reason.
 *
 * The replica that wrote a row kicks its own relay right after the commit, so a message
 * normally leaves within milliseconds; every relay also polls, which covers a writer that
 * died in between. (LISTEN/NOTIFY was tried first: it woke every replica for every row, and
 * NOTIFY serialises committing transactions on a global lock.)
 */
export class OutboxRelay implements OutboxKick {
  private draining: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly published: Counter;
  private readonly lag: Histogram;

  constructor(
    private readonly sql: Sql,
    private readonly publisher: ConfirmedPublisher,
    private readonly breakers: CircuitBreakers,
    private readonly options: OutboxRelayOptions,
  ) {
    this.published = new Counter({
      name: 'outbox_published_total',
      help: 'Outbox messages published',
      registers: [options.registry],
    });
    this.lag = new Histogram({
      name: 'outbox_lag_seconds',
      help: 'Time from the outbox write (commit) to the confirmed publish',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [options.registry],
    });
  }

  start(): void {
    const poll = () => {
      if (this.stopped) return;
      this.kick();
      this.timer = setTimeout(poll, this.options.pollMs);
    };
    poll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.draining;
    // One last pass: what this replica's final requests wrote goes out before it exits.
    await this.drainOnce().catch(() => undefined);
  }

  /**
   * Starts a drain, or asks the running one to go round again. Once stopped, nothing: the
   * publisher is closing, and the rows stay for another replica's relay (or this one's poll).
   */
  kick(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    // Not part of whichever request kicked it: the pass publishes other requests' rows too, each
    // in its own row's trace (the queries of the pass, outside any trace, make no spans).
    this.draining = context
      .with(ROOT_CONTEXT, () => this.drain())
      .finally(() => {
        this.draining = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async drain(): Promise<void> {
    try {
      while ((await this.drainOnce()) === this.options.batchSize) {
        // a full batch: there may be more
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, 'outbox relay pass failed; will retry');
    }
  }

  private async drainOnce(): Promise<number> {
    const names = this.options.breakerNames ?? { database: 'postgres', publishing: 'publishing' };
    return this.breakers.run(names.database, () =>
      withDatabase(
        () =>
          this.sql.begin(async (tx) => {
            const rows = await tx<OutboxRow[]>`
              SELECT id, exchange, routing_key, payload, headers, created_at FROM outbox
              ORDER BY id LIMIT ${this.options.batchSize}
              FOR UPDATE SKIP LOCKED`;
            if (rows.length === 0) return 0;
            await this.breakers.run(names.publishing, () =>
              Promise.all(
                rows.map((row) =>
                  // The publish span continues the trace stored with the row (outboxHeaders).
                  context.with(traceContextOf(row.headers), () =>
                    this.publisher.publish(row.exchange, row.routing_key, Buffer.from(JSON.stringify(row.payload)), {
                      messageId: `outbox-${row.id}`,
                      type: row.routing_key,
                      headers: withoutTrace(row.headers),
                    }),
                  ),
                ),
              ),
            );
            await tx`DELETE FROM outbox WHERE id IN ${tx(rows.map((row) => row.id))}`;
            const now = Date.now();
            for (const row of rows) this.lag.observe((now - row.created_at.getTime()) / 1000);
            this.published.inc(rows.length);
            return rows.length;
          }) as Promise<number>,
      ),
    );
  }
}
