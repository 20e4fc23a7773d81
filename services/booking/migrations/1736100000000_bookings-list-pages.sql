-- Up Migration

-- GET /api/bookings pages newest first by (created_at, id) — id breaks ties between bookings
-- made in the same microsecond. Each page is one range scan of these indexes, read backwards
-- from the cursor; the old indexes lacked id, so a page after a tie had to sort.
CREATE INDEX bookings_page ON bookings (created_at, id);
CREATE INDEX bookings_by_user_page ON bookings (user_id, created_at, id);
DROP INDEX bookings_created;
DROP INDEX bookings_user_created;

-- Down Migration
CREATE INDEX bookings_user_created ON bookings (user_id, created_at DESC);
CREATE INDEX bookings_created ON bookings (created_at DESC);
DROP INDEX bookings_by_user_page;
DROP INDEX bookings_page;
