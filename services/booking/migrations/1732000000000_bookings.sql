-- Up Migration

CREATE TABLE bookings (
  id           uuid        PRIMARY KEY,
  user_id      text        NOT NULL,
  room_id      integer     NOT NULL,
  check_in     date        NOT NULL,
  check_out    date        NOT NULL,
  nights       integer     NOT NULL CHECK (nights BETWEEN 1 AND 30),
  status       text        NOT NULL CHECK (status IN ('pending', 'confirmed', 'failed', 'cancelled')),
  failure_code text,
  -- Inventory may still hold this booking's nights although the booking no longer wants
  -- them: written in the same statement as the status change, paid by a release.
  release_owed boolean     NOT NULL DEFAULT false,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  confirmed_at timestamptz,
  cancelled_at timestamptz,
  CONSTRAINT bookings_range CHECK (check_out > check_in),
  CONSTRAINT bookings_release_only_when_not_confirmed CHECK (NOT (release_owed AND status = 'confirmed'))
);

CREATE INDEX bookings_user_created ON bookings (user_id, created_at DESC);
CREATE INDEX bookings_created ON bookings (created_at DESC);
-- The recovery loop's work list stays small: only unfinished rows are indexed.
CREATE INDEX bookings_unsettled ON bookings (updated_at) WHERE status = 'pending' OR release_owed;

-- Down Migration

DROP TABLE bookings;
