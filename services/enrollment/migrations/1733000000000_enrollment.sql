-- Up Migration

CREATE TABLE students (
  id         text PRIMARY KEY,
  name       text NOT NULL,
  email      text NOT NULL,
  active     boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE terms (
  code text PRIMARY KEY,
  name text NOT NULL,
  open boolean NOT NULL DEFAULT false
);

CREATE TABLE courses (
  code text PRIMARY KEY,
  name text NOT NULL
);

-- `enrolled` counts the seats taken: active enrollments plus seats held by a saga that has
-- not finished yet. The CHECK is the last line of defence against overselling: even a bug
-- in the row-locked check cannot commit enrolled > capacity.
CREATE TABLE sections (
  code       text PRIMARY KEY,
  course     text NOT NULL REFERENCES courses (code),
  term       text NOT NULL REFERENCES terms (code),
  capacity   integer NOT NULL CHECK (capacity > 0),
  enrolled   integer NOT NULL DEFAULT 0,
  schedule   jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT sections_seats CHECK (enrolled >= 0 AND enrolled <= capacity)
);
CREATE INDEX sections_term ON sections (term, code);

-- A request as the student sent it and where it stands. `sections` keeps the order asked for.
CREATE TABLE enrollment_requests (
  id           uuid PRIMARY KEY,
  student_id   text NOT NULL,
  term         text NOT NULL,
  sections     text[] NOT NULL,
  status       text NOT NULL DEFAULT 'queued'
               CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
  error_code   text,
  error_detail text,
  accepted_at  timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  CONSTRAINT enrollment_requests_error CHECK ((status = 'failed') = (error_code IS NOT NULL))
);
CREATE INDEX enrollment_requests_unfinished ON enrollment_requests (updated_at)
  WHERE status IN ('queued', 'processing');

-- The saga of one request (saga id = request id). `steps` is the durable plan and its
-- progress: [{name, section?, status, error?}]. Every step runs in its own transaction that
-- locks this row first, so two consumers handed the same request serialise on it.
CREATE TABLE sagas (
  id          uuid PRIMARY KEY REFERENCES enrollment_requests (id),
  name        text NOT NULL,
  status      text NOT NULL
              CHECK (status IN ('running', 'compensating', 'completed', 'compensated', 'failed')),
  steps       jsonb NOT NULL,
  failure     jsonb,
  started_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX sagas_status ON sagas (status, finished_at);

-- A seat: `held` while its saga runs, `active` once the request completed, `released` when
-- the saga gave it back, `dropped` when the student dropped it.
CREATE TABLE enrollments (
  id          uuid PRIMARY KEY,
  student_id  text NOT NULL REFERENCES students (id),
  section     text NOT NULL REFERENCES sections (code),
  course      text NOT NULL,
  term        text NOT NULL,
  request_id  uuid NOT NULL REFERENCES enrollment_requests (id),
  status      text NOT NULL CHECK (status IN ('held', 'active', 'released', 'dropped')),
  enrolled_at timestamptz NOT NULL DEFAULT now(),
  ended_at    timestamptz,
  UNIQUE (request_id, section)
);
-- One seat per student per course and term, whatever the code path: ALREADY_ENROLLED's backstop.
CREATE UNIQUE INDEX enrollments_one_per_course ON enrollments (student_id, course, term)
  WHERE status IN ('held', 'active');
CREATE INDEX enrollments_section ON enrollments (section) WHERE status IN ('held', 'active');

-- Idempotency keys, committed in the same transaction as the request they name: there is no
-- moment at which one exists without the other.
CREATE TABLE idempotency_keys (
  key         text PRIMARY KEY,
  -- Deferred: the key is claimed first (its unique index is what serialises parallel
  -- duplicates), and the request it names is inserted later in the same transaction.
  request_id  uuid NOT NULL REFERENCES enrollment_requests (id) DEFERRABLE INITIALLY DEFERRED,
  fingerprint text NOT NULL,
  derived     boolean NOT NULL,
  response    jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- The transactional outbox's table is @cupo/outbox's (migration 1736300000000_outbox.js).

-- Down Migration
DROP TABLE idempotency_keys;
DROP TABLE enrollments;
DROP TABLE sagas;
DROP TABLE enrollment_requests;
DROP TABLE sections;
DROP TABLE courses;
DROP TABLE terms;
DROP TABLE students;
