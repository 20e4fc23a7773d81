-- Up Migration

-- A booking may be attempted again after an attempt failed and gave its nights back (a
-- client retrying with the same Idempotency-Key). Each attempt reserves under its own key,
-- so the tombstone a released attempt leaves refuses only that attempt's late reserve.
ALTER TABLE reservations ADD COLUMN attempt integer NOT NULL DEFAULT 1 CHECK (attempt > 0);
ALTER TABLE reservations DROP CONSTRAINT reservations_pkey;
ALTER TABLE reservations ADD PRIMARY KEY (booking_id, attempt);

-- The reconciler walks what is held, oldest first, a page at a time.
CREATE INDEX reservations_reserved_order ON reservations (reserved_at, booking_id, attempt) WHERE status = 'reserved';

-- Down Migration

DROP INDEX reservations_reserved_order;
ALTER TABLE reservations DROP CONSTRAINT reservations_pkey;
DELETE FROM reservations WHERE attempt > 1;
ALTER TABLE reservations ADD PRIMARY KEY (booking_id);
ALTER TABLE reservations DROP COLUMN attempt;
