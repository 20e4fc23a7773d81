import { Redis } from 'ioredis';
import postgres from 'postgres';

/**
 * A production-sized history, loaded straight through SQL (generate_series) into a stack's own
 * databases and through a Redis pipeline under its key prefix (issue 16.1). At factor 1:
 * 10,000 rooms × 365 nights, 2 million bookings over them (with inventory's reservations),
 * 100,000 students, 5,000 sections, 1 million finished enrollment requests with their sagas,
 * seats and idempotency keys, 500,000 report queries, 500,000 onboarding tasks, and 1 million
 * idempotency entries in Redis. `factor` scales every count (SCALE=0.1 for a quick try).
 *
 * Everything is history the services would have written themselves: finished, in past terms or
 * spread over the past year, with the same shapes (a finished saga has its request, a request
 * its key, a booking its reservation), so the running system's queries meet it as they would.
 */
export interface HistoryTargets {
  databaseUrls: { inventory: string; booking: string; enrollment: string; worker: string };
  redisUrl: string;
  redisKeyPrefix: string;
}

export const FULL_SCALE = {
  rooms: 10_000,
  nights: 365,
  bookings: 2_000_000,
  students: 100_000,
  sections: 5_000,
  requests: 1_000_000,
  queries: 500_000,
  tasks: 500_000,
  redisKeys: 1_000_000,
} as const;

export type HistoryCounts = Record<keyof typeof FULL_SCALE, number>;

export function countsAt(factor: number): HistoryCounts {
  const counts = {} as HistoryCounts;
  for (const [name, full] of Object.entries(FULL_SCALE)) {
    counts[name as keyof HistoryCounts] = name === 'nights' ? full : Math.max(1, Math.round(full * factor));
  }
  return counts;
}

const connect = (url: string) =>
  postgres(url, { max: 1, onnotice: () => undefined, connection: { synchronous_commit: 'off' } as Record<string, string> });

export async function loadHistory(
  targets: HistoryTargets,
  factor: number,
  log: (line: string) => void = () => undefined,
): Promise<HistoryCounts> {
  const n = countsAt(factor);
  const timed = async (what: string, work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    log(`  loaded ${what} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  };

  const inventory = connect(targets.databaseUrls.inventory);
  const booking = connect(targets.databaseUrls.booking);
  const enrollment = connect(targets.databaseUrls.enrollment);
  const worker = connect(targets.databaseUrls.worker);
  try {
    // Ids derived from a name, shaped as version-4 UUIDs (the contracts check the version and
    // variant digits, which a bare md5 would get wrong): one session per database keeps it.
    for (const db of [inventory, booking, enrollment, worker]) {
      await db`
        CREATE FUNCTION pg_temp.uid(name text) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
          SELECT (substr(h, 1, 12) || '4' || substr(h, 14, 3) || '8' || substr(h, 18, 15))::uuid FROM md5(name) h
        $$`;
    }
    // Rooms 1000000+ (clear of the seed's and the API's ids), a year of nights from today.
    await timed(`${n.rooms} rooms × ${n.nights} nights`, async () => {
      await inventory`
        INSERT INTO rooms (id, name, type, total_quantity, created_at)
        SELECT 1000000 + g, 'History room ' || g, (ARRAY['single', 'double', 'suite'])[1 + g % 3], 20,
               now() - interval '1 year'
        FROM generate_series(1, ${n.rooms}) g`;
      await inventory`
        INSERT INTO room_nights (room_id, night, total, available)
        SELECT 1000000 + r, current_date + d, 20, 20 - (r + d) % 7
        FROM generate_series(1, ${n.rooms}) r, generate_series(0, ${n.nights - 1}) d`;
    });
    // Bookings over the past year and the year ahead: 85 % confirmed, the rest cancelled or failed;
    // each confirmed or cancelled one with inventory's reservation (reserved or released).
    await timed(`${n.bookings} bookings and their reservations`, async () => {
      await booking`
        INSERT INTO bookings (id, user_id, room_id, check_in, check_out, nights, status, failure_code,
                              created_at, updated_at, confirmed_at, cancelled_at, attempt_id)
        SELECT pg_temp.uid('booking-' || g), 'guest-' || (g % 200000), 1000000 + 1 + g % ${n.rooms},
               current_date - 365 + (g % 700), current_date - 365 + (g % 700) + 1 + g % 3, 1 + g % 3,
               CASE WHEN g % 20 < 17 THEN 'confirmed' WHEN g % 20 < 19 THEN 'cancelled' ELSE 'failed' END,
               CASE WHEN g % 20 = 19 THEN 'SOLD_OUT' END,
               now() - make_interval(secs => (g % 31536000)), now() - make_interval(secs => (g % 31536000)),
               CASE WHEN g % 20 < 19 THEN now() - make_interval(secs => (g % 31536000)) END,
               CASE WHEN g % 20 BETWEEN 17 AND 18 THEN now() - make_interval(secs => (g % 31536000) - 60) END,
               md5('booking-' || g)
        FROM generate_series(1, ${n.bookings}) g`;
      await inventory`
        INSERT INTO reservations (booking_id, room_id, nights, status, reserved_at, released_at, attempt)
        SELECT pg_temp.uid('booking-' || g), 1000000 + 1 + g % ${n.rooms},
               ARRAY(SELECT current_date - 365 + (g % 700) + k FROM generate_series(0, g % 3) k),
               CASE WHEN g % 20 < 17 THEN 'reserved' ELSE 'released' END,
               now() - make_interval(secs => (g % 31536000)),
               CASE WHEN g % 20 >= 17 THEN now() - make_interval(secs => (g % 31536000) - 60) END, 1
        FROM generate_series(1, ${n.bookings}) g WHERE g % 20 < 19`;
    });
    // Past terms with their courses and sections, students, and a million finished requests:
    // 80 % completed (an active seat each), 20 % failed (compensated sagas, no seat).
    const sectionCapacity = Math.ceil(n.requests / n.sections) + 10;
    await timed(`${n.students} students, ${n.sections} sections`, async () => {
      await enrollment`INSERT INTO terms (code, name, open) SELECT 'H' || t || '-2024', 'History ' || t, false FROM generate_series(1, 4) t`;
      await enrollment`INSERT INTO courses (code, name) SELECT 'HC' || g, 'History course ' || g FROM generate_series(1, ${n.sections}) g`;
      await enrollment`
        INSERT INTO sections (code, course, term, capacity, enrolled, schedule)
        SELECT 'HS' || g, 'HC' || g, 'H' || (1 + g % 4) || '-2024', ${sectionCapacity}, 0,
               jsonb_build_array(jsonb_build_object('day', (ARRAY['mon','tue','wed','thu','fri'])[1 + g % 5],
                                                    'start', lpad((7 + g % 10)::text, 2, '0') || ':00',
                                                    'end', lpad((7 + g % 10)::text, 2, '0') || ':50'))
        FROM generate_series(1, ${n.sections}) g`;
      await enrollment`
        INSERT INTO students (id, name, email, created_at)
        SELECT 'HST' || g, 'History student ' || g, 'hst' || g || '@history.test', now() - interval '1 year'
        FROM generate_series(1, ${n.students}) g`;
    });
    await timed(`${n.requests} finished requests with sagas, seats and keys`, async () => {
      // Request g: student g % students, section g % sections (one course each, so a student's
      // seats never collide on a course in a term: see the unique index enrollments_one_per_course).
      await enrollment`
        INSERT INTO enrollment_requests (id, student_id, term, sections, status, error_code, error_detail,
                                         accepted_at, updated_at, finished_at)
        SELECT pg_temp.uid('request-' || g), 'HST' || (1 + g % ${n.students}), 'H' || (1 + (1 + g % ${n.sections}) % 4) || '-2024',
               ARRAY['HS' || (1 + g % ${n.sections})],
               CASE WHEN g % 5 = 0 THEN 'failed' ELSE 'completed' END,
               CASE WHEN g % 5 = 0 THEN 'SECTION_FULL' END, CASE WHEN g % 5 = 0 THEN 'no seats left' END,
               now() - make_interval(secs => (g % 31536000) + 2), now() - make_interval(secs => (g % 31536000)),
               now() - make_interval(secs => (g % 31536000))
        FROM generate_series(1, ${n.requests}) g`;
      await enrollment`
        INSERT INTO sagas (id, name, status, steps, failure, started_at, updated_at, finished_at)
        SELECT pg_temp.uid('request-' || g), 'enrollment_HST' || (1 + g % ${n.students}),
               CASE WHEN g % 5 = 0 THEN 'compensated' ELSE 'completed' END,
               jsonb_build_array(
                 jsonb_build_object('name', 'validate_request', 'status', 'completed'),
                 CASE WHEN g % 5 = 0
                      THEN jsonb_build_object('name', 'reserve_seat', 'section', 'HS' || (1 + g % ${n.sections}), 'status', 'failed',
                                              'error', jsonb_build_object('code', 'SECTION_FULL', 'detail', 'no seats left'))
                      ELSE jsonb_build_object('name', 'reserve_seat', 'section', 'HS' || (1 + g % ${n.sections}), 'status', 'completed') END,
                 jsonb_build_object('name', 'confirm_enrollment', 'status', CASE WHEN g % 5 = 0 THEN 'skipped' ELSE 'completed' END)),
               CASE WHEN g % 5 = 0 THEN jsonb_build_object('code', 'SECTION_FULL', 'detail', 'no seats left', 'section', 'HS' || (1 + g % ${n.sections})) END,
               now() - make_interval(secs => (g % 31536000) + 1), now() - make_interval(secs => (g % 31536000)),
               now() - make_interval(secs => (g % 31536000))
        FROM generate_series(1, ${n.requests}) g`;
      // One seat per student, course and term: a student's second request for the same
      // section (g and g + lcm) is history without a seat (dropped).
      await enrollment`
        INSERT INTO enrollments (id, student_id, section, course, term, request_id, status, enrolled_at, ended_at)
        SELECT pg_temp.uid('seat-' || g), 'HST' || (1 + g % ${n.students}), 'HS' || (1 + g % ${n.sections}),
               'HC' || (1 + g % ${n.sections}), 'H' || (1 + (1 + g % ${n.sections}) % 4) || '-2024',
               pg_temp.uid('request-' || g),
               CASE WHEN row_number() OVER (PARTITION BY g % ${n.students}, g % ${n.sections} ORDER BY g) = 1
                    THEN 'active' ELSE 'dropped' END,
               now() - make_interval(secs => (g % 31536000)),
               NULL
        FROM generate_series(1, ${n.requests}) g WHERE g % 5 <> 0`;
      await enrollment`UPDATE enrollments SET ended_at = enrolled_at WHERE status = 'dropped'`;
      await enrollment`
        UPDATE sections s SET enrolled = c.n
        FROM (SELECT section, count(*)::int AS n FROM enrollments WHERE status IN ('held', 'active') GROUP BY section) c
        WHERE s.code = c.section`;
      // A key per request, every one still within its lifetime: the recovery loop deletes
      // expired keys every few seconds, so a running system never holds many expired ones, and
      // live ones are the worst case for every lookup and count.
      await enrollment`
        INSERT INTO idempotency_keys (key, request_id, fingerprint, derived, response, created_at, expires_at)
        SELECT 'history-' || g, pg_temp.uid('request-' || g), md5('fp-' || g), g % 2 = 0,
               jsonb_build_object('request_id', pg_temp.uid('request-' || g), 'status', 'queued'),
               now() - make_interval(secs => (g % 31536000) + 2),
               now() + interval '1 day'
        FROM generate_series(1, ${n.requests}) g`;
    });
    await timed(`${n.queries} report queries, ${n.tasks} onboarding tasks`, async () => {
      await worker`
        INSERT INTO queries (id, type, params, requested_by, status, result, created_at, processed_at, expires_at, deadline_at, announced_at)
        SELECT pg_temp.uid('query-' || g), (ARRAY['occupancy_report', 'room_search', 'section_roster'])[1 + g % 3],
               '{"from":"2025-01-01","to":"2025-01-08"}'::jsonb, 'admin-' || (g % 50), 'completed',
               '{"rows":[]}'::jsonb, now() - make_interval(secs => (g % 86000)), now() - make_interval(secs => (g % 86000)),
               now() - make_interval(secs => (g % 86000)) + interval '1 day',
               now() - make_interval(secs => (g % 86000)) + interval '120 seconds', now() - make_interval(secs => (g % 86000))
        FROM generate_series(1, ${n.queries}) g`;
      // An ingest per 101 tasks: its batch and 99 finished workflows.
      await worker`
        INSERT INTO tasks (id, type, status, parent_id, student_id, entity_count, details, created_at, started_at, finished_at)
        SELECT pg_temp.uid('task-' || g),
               CASE WHEN g % 101 = 0 THEN 'ingest' WHEN g % 101 = 1 THEN 'batch' ELSE 'workflow' END,
               'completed',
               CASE WHEN g % 101 = 0 THEN NULL WHEN g % 101 = 1 THEN pg_temp.uid('task-' || (g - 1))
                    ELSE pg_temp.uid('task-' || (g - g % 101 + 1)) END,
               CASE WHEN g % 101 > 1 THEN 'HST' || g END, CASE WHEN g % 101 > 1 THEN 1 ELSE 99 END, '{}'::jsonb,
               now() - make_interval(secs => (31536000 - g % 31536000)), now() - make_interval(secs => (31536000 - g % 31536000)),
               now() - make_interval(secs => (31536000 - g % 31536000) - 5)
        FROM generate_series(0, ${n.tasks - 1}) g
        ORDER BY g % 101 = 0 DESC, g % 101 = 1 DESC`;
    });
    await timed(`${n.redisKeys} idempotency entries in Redis`, async () => {
      const redis = new Redis(targets.redisUrl, { maxRetriesPerRequest: 3 });
      try {
        const value = (i: number) =>
          JSON.stringify({ fingerprint: `history-${i}`, state: 'done', owner: 'history', response: { status: 201, body: { id: i } } });
        for (let start = 0; start < n.redisKeys; start += 10_000) {
          const pipeline = redis.pipeline();
          for (let i = start; i < Math.min(n.redisKeys, start + 10_000); i++) {
            pipeline.set(`${targets.redisKeyPrefix}idem:history-${i}`, value(i), 'EX', 7_200);
          }
          await pipeline.exec();
        }
      } finally {
        redis.disconnect();
      }
    });
    await timed('VACUUM ANALYZE', async () => {
      for (const db of [inventory, booking, enrollment, worker]) await db`VACUUM ANALYZE`;
    });
  } finally {
    await Promise.all([inventory, booking, enrollment, worker].map((db) => db.end({ timeout: 5 })));
  }
  return n;
}
