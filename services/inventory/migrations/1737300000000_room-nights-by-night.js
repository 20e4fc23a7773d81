// Reports (occupancy, room search) read every room's nights in a window of dates. By the primary
// key (room_id, night) the only way there was a scan of every night on sale (a year ahead for
// each room); by night they read just the window's rows. `available` and `total` stay out of the
// index, so a booking's decrement (which changes only `available`) touches no index when it can
// be a HOT update.
//
// Built CONCURRENTLY, outside the migration's transaction: a plain CREATE INDEX holds off every
// write to room_nights until it ends (about 2 s at 10,000 rooms × 365 nights, longer on a cold
// cache), and migrations run while the previous release still takes bookings. A build that
// failed half way leaves an invalid index of the same name: it is dropped and built again.

/** @param {{ noTransaction(): void; sql(text: string): void }} pgm */
export function up(pgm) {
  pgm.noTransaction();
  pgm.sql(`
    DO $$
    BEGIN
      IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 WHERE c.relname = 'room_nights_by_night' AND NOT i.indisvalid) THEN
        DROP INDEX room_nights_by_night;
      END IF;
    END $$`);
  pgm.sql('CREATE INDEX CONCURRENTLY IF NOT EXISTS room_nights_by_night ON room_nights (night, room_id)');
}

/** @param {{ noTransaction(): void; sql(text: string): void }} pgm */
export function down(pgm) {
  pgm.noTransaction();
  pgm.sql('DROP INDEX CONCURRENTLY IF EXISTS room_nights_by_night');
}
