import type { Page, PageRequest, RosterEntry, SagaStatus } from '@cupo/contracts';
import { foldStatusCounts, inBatches, type Sql } from '@cupo/database';
import type { EnrollmentStats, OpsStore, SagaSummary } from '../../app/ports.js';
import { SagaNotFinishedError } from '../../domain/errors.js';
import { FINISHED_SAGA_STATUSES, isFinished } from '../../domain/saga.js';
import { SAGAS, type SagaRow } from './rows.js';

/** What admins, reports, metrics and the periodic jobs read and clean up. */
/** Live idempotency keys counted exactly up to this many; beyond it, an estimate. */
export const LIVE_KEYS_COUNTED = 1_000;
/** Expired idempotency keys deleted per statement, and statements per pass. */
const KEY_PURGE_BATCH = 5_000;
const KEY_PURGE_MAX_BATCHES = 10;
/** Sagas deleted per statement by the ops purge. */
const SAGA_PURGE_BATCH = 5_000;

export class PostgresOpsStore implements OpsStore {
  constructor(private readonly sql: Sql) {}

  async roster(section: string): Promise<RosterEntry[] | undefined> {
    const [exists] = await this.sql`SELECT 1 FROM sections WHERE code = ${section}`;
    if (!exists) return undefined;
    const rows = await this.sql<(Omit<RosterEntry, 'enrolled_at'> & { enrolled_at: Date })[]>`
      SELECT s.id AS student_id, s.name, s.email, e.enrolled_at
      FROM enrollments e JOIN students s ON s.id = e.student_id
      WHERE e.section = ${section} AND e.status = 'active'
      ORDER BY s.id`;
    return rows.map((row) => ({ ...row, enrolled_at: row.enrolled_at.toISOString() }));
  }

  /**
   * Requests and sagas by status from the counts the triggers keep (migration
   * 1737100000000_status-counts.sql): totals plus the deltas not folded yet, exact and read in
   * one statement, at a cost that does not grow with history. Live idempotency keys are counted
   * up to LIVE_KEYS_COUNTED by an index range scan; beyond that the figure is the planner's
   * estimate of the table's rows (expired keys are purged every few seconds) and says so
   * (`estimated: true`).
   */
  async stats(): Promise<EnrollmentStats> {
    await this.foldCounts();
    // Four reads sent together (porsager pipelines them): one round trip.
    const [counts, [keys], [outbox]] = await Promise.all([
      this.sql<{ item: string; n: number }[]>`
        SELECT item, sum(n)::int AS n
        FROM (SELECT item, n FROM status_totals UNION ALL SELECT item, n FROM status_deltas) c
        GROUP BY item`,
      this.sql<{ counted: number; estimate: number; sample: string[] | null }[]>`
        SELECT (SELECT count(*)::int FROM (SELECT 1 FROM idempotency_keys WHERE expires_at > now()
                                           LIMIT ${LIVE_KEYS_COUNTED + 1}) live) AS counted,
               (SELECT greatest(reltuples, 0)::bigint::int FROM pg_class WHERE oid = 'idempotency_keys'::regclass) AS estimate,
               (SELECT array_agg(key) FROM (SELECT key FROM idempotency_keys WHERE expires_at > now()
                                            ORDER BY expires_at DESC LIMIT 5) k) AS sample`,
      this.sql<{ pending: number; oldest_seconds: number }[]>`
        SELECT count(*)::int AS pending,
               coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_seconds
        FROM outbox`,
    ]);
    const byStatus = (table: string, all: readonly string[]) =>
      Object.fromEntries(all.map((status) => [status, counts.find((r) => r.item === `${table}.${status}`)?.n ?? 0]));
    const estimated = (keys?.counted ?? 0) > LIVE_KEYS_COUNTED;
    return {
      requests: byStatus('enrollment_requests', ['queued', 'processing', 'completed', 'failed']),
      sagas: byStatus('sagas', ['running', 'compensating', ...FINISHED_SAGA_STATUSES]),
      idempotency: {
        entries: estimated ? Math.max(keys?.estimate ?? 0, LIVE_KEYS_COUNTED + 1) : (keys?.counted ?? 0),
        sample_keys: keys?.sample ?? [],
        ...(estimated ? { estimated: true } : {}),
      },
      outbox: outbox ?? { pending: 0, oldest_seconds: 0 },
    };
  }

  /** Folds the deltas the triggers appended into the totals (see foldStatusCounts). */
  foldCounts(): Promise<number> {
    return foldStatusCounts(this.sql);
  }

  async openRequests() {
    const [row] = await this.sql<{ count: number; oldest_seconds: number }[]>`
      SELECT count(*)::int AS count,
             coalesce(extract(epoch FROM now() - min(updated_at)), 0)::float8 AS oldest_seconds
      FROM enrollment_requests WHERE status IN ('queued', 'processing')`;
    return { count: row?.count ?? 0, oldestSeconds: row?.oldest_seconds ?? 0 };
  }

  /** Newest first by (started_at, id): a backward range scan of sagas_page or sagas_by_status_page. */
  async listSagas(status: SagaStatus | undefined, page: PageRequest): Promise<Page<SagaSummary>> {
    const after = SAGAS.decode(page.cursor);
    const rows = await this.sql<(SagaRow & { cursor_at: string })[]>`
      SELECT *, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at FROM sagas
      WHERE true
        ${status ? this.sql`AND status = ${status}` : this.sql``}
        ${after ? this.sql`AND (started_at, id) < (${after[0]}::text::timestamptz, ${after[1]}::uuid)` : this.sql``}
      ORDER BY started_at DESC, id DESC LIMIT ${page.limit + 1}`;
    return SAGAS.page(
      rows,
      page.limit,
      (row) => [row.cursor_at, row.id],
      (row) => ({
        saga_id: row.id,
        name: row.name,
        status: row.status,
        steps: row.steps.map((step) => ({
          name: step.section ? `${step.name}:${step.section}` : step.name,
          status: step.status,
          ...(step.section ? { section: step.section } : {}),
        })),
        started_at: row.started_at.toISOString(),
        ...(row.finished_at ? { finished_at: row.finished_at.toISOString() } : {}),
      }),
    );
  }

  /**
   * Deletes in batches of `batch` (a range scan of sagas_status (status, finished_at), oldest
   * first, so a rare status does not walk past the others; SKIP LOCKED),
   * until none is left or `until` (epoch ms) comes: a purge of a million sagas neither runs
   * as one statement holding its locks and WAL to the end nor outlives the caller's wait.
   * `complete: false` says to ask again.
   */
  async purgeSagas(status: SagaStatus, olderThanSeconds: number, until: number, batch = SAGA_PURGE_BATCH) {
    if (!isFinished(status)) {
      throw new SagaNotFinishedError();
    }
    const { rows: purged, complete } = await inBatches({ size: batch, until }, async () => {
      const result = await this.sql`
        DELETE FROM sagas WHERE id = ANY(ARRAY(
          SELECT id FROM sagas
          WHERE status = ${status} AND finished_at < now() - make_interval(secs => ${olderThanSeconds})
          ORDER BY finished_at LIMIT ${batch} FOR UPDATE SKIP LOCKED))`;
      return result.count;
    });
    return { purged, complete };
  }

  /**
   * Deletes expired keys oldest first, in batches of `batch` (each its own statement: a range
   * scan from the start of idempotency_keys_expiry, deleted by row address, its locks held briefly), at most
   * `maxBatches` a pass: a pass costs the same however many keys have piled up (a first start
   * after a long stop), and the next pass goes on where it stopped. Returns the keys deleted.
   */
  async purgeExpiredKeys(batch = KEY_PURGE_BATCH, maxBatches = KEY_PURGE_MAX_BATCHES): Promise<number> {
    const { rows } = await inBatches({ size: batch, maxBatches }, async () => {
      const result = await this.sql`
        DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
          SELECT ctid FROM idempotency_keys WHERE expires_at <= now()
          ORDER BY expires_at LIMIT ${batch} FOR UPDATE SKIP LOCKED))`;
      return result.count;
    });
    return rows;
  }

  async forgetIdempotencyKey(key: string): Promise<boolean> {
    const result = await this.sql`DELETE FROM idempotency_keys WHERE key = ${key}`;
    return result.count > 0;
  }
}
