-- Up Migration

-- A booking may be attempted again after an attempt failed and gave its nights back (a
-- client retrying with the same Idempotency-Key). Each attempt reserves under a key of its
-- own, so the tombstone a released attempt leaves refuses only that attempt's late reserve:
-- the first attempt's key is the booking id itself (as before), a later one's is derived from
-- the booking id and the attempt number (see inventory-store.ts reservationKey). The primary
-- key is unchanged, so the previous version — still serving while a rolling upgrade replaces
-- it — keeps working on the same table. `booking` names the booking a derived key belongs to.
ALTER TABLE reservations ADD COLUMN attempt integer NOT NULL DEFAULT 1 CHECK (attempt > 0);
ALTER TABLE reservations ADD COLUMN booking uuid;

-- The reconciler walks what is held, oldest first, a page at a time.
CREATE INDEX reservations_reserved_order ON reservations (reserved_at, booking_id) WHERE status = 'reserved';

-- Down Migration

DROP INDEX reservations_reserved_order;
ALTER TABLE reservations DROP COLUMN booking;
ALTER TABLE reservations DROP COLUMN attempt;
