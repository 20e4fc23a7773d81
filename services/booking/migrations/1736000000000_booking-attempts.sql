-- Up Migration

-- A booking id names one request (the caller, its Idempotency-Key and the stay asked for).
-- When an attempt at it fails and gives back whatever it took, a retry of that request makes
-- a new attempt: `attempt` numbers them (inventory keeps one reservation per attempt), and
-- `attempt_id` names the client request behind the latest one, so a duplicate of that same
-- request (a redelivered command) gets the same answer while a client's retry tries again.
ALTER TABLE bookings ADD COLUMN attempt integer NOT NULL DEFAULT 1 CHECK (attempt > 0);
ALTER TABLE bookings ADD COLUMN attempt_id text;

-- The reconciler walks confirmed bookings a page at a time.
CREATE INDEX bookings_confirmed_order ON bookings (confirmed_at, id) WHERE status = 'confirmed';

-- Where each of the reconciler's walks stopped, so that replicas take turns continuing it.
CREATE TABLE reconciliation_cursors (
  walk       text        PRIMARY KEY,
  position   jsonb,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration

DROP TABLE reconciliation_cursors;
DROP INDEX bookings_confirmed_order;
ALTER TABLE bookings DROP COLUMN attempt_id;
ALTER TABLE bookings DROP COLUMN attempt;
