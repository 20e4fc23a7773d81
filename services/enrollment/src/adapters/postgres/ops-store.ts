import type { Page, PageRequest, RosterEntry, SagaStatus } from '@cupo/contracts';
import type { Sql } from '@cupo/database';
import type { EnrollmentStats, OpsStore, SagaSummary } from '../../app/ports.js';
import { SagaNotFinishedError } from '../../domain/errors.js';
import { FINISHED_SAGA_STATUSES, isFinished } from '../../domain/saga.js';
import { SAGAS, type SagaRow } from './rows.js';

/** What admins, reports, metrics and the periodic jobs read and clean up. */
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

  async stats(): Promise<EnrollmentStats> {
    // Four reads sent together (porsager pipelines them): one round trip.
    const [requests, sagas, [keys], [outbox]] = await Promise.all([
      this.sql<{ status: string; count: number }[]>`
        SELECT status, count(*)::int AS count FROM enrollment_requests GROUP BY status`,
      this.sql<{ status: string; count: number }[]>`SELECT status, count(*)::int AS count FROM sagas GROUP BY status`,
      this.sql<{ entries: number; sample: string[] | null }[]>`
        SELECT count(*)::int AS entries,
               (SELECT array_agg(key) FROM (SELECT key FROM idempotency_keys WHERE expires_at > now()
                                            ORDER BY created_at DESC LIMIT 5) k) AS sample
        FROM idempotency_keys WHERE expires_at > now()`,
      this.sql<{ pending: number; oldest_seconds: number }[]>`
        SELECT count(*)::int AS pending,
               coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_seconds
        FROM outbox`,
    ]);
    const byStatus = (rows: { status: string; count: number }[], all: readonly string[]) =>
      Object.fromEntries(all.map((status) => [status, rows.find((r) => r.status === status)?.count ?? 0]));
    return {
      requests: byStatus(requests, ['queued', 'processing', 'completed', 'failed']),
      sagas: byStatus(sagas, ['running', 'compensating', ...FINISHED_SAGA_STATUSES]),
      idempotency: { entries: keys?.entries ?? 0, sample_keys: keys?.sample ?? [] },
      outbox: outbox ?? { pending: 0, oldest_seconds: 0 },
    };
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
    return SAGAS.page(rows, page.limit, (row) => [row.cursor_at, row.id], (row) => ({
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
    }));
  }

  async purgeSagas(status: SagaStatus, olderThanSeconds: number): Promise<number> {
    if (!isFinished(status)) {
      throw new SagaNotFinishedError();
    }
    const result = await this.sql`
      DELETE FROM sagas
      WHERE status = ${status} AND finished_at < now() - make_interval(secs => ${olderThanSeconds})`;
    return result.count;
  }

  async purgeExpiredKeys(): Promise<number> {
    const result = await this.sql`DELETE FROM idempotency_keys WHERE expires_at <= now()`;
    return result.count;
  }

  async forgetIdempotencyKey(key: string): Promise<boolean> {
    const result = await this.sql`DELETE FROM idempotency_keys WHERE key = ${key}`;
    return result.count > 0;
  }
}
