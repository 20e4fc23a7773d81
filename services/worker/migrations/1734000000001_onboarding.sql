-- Up Migration

-- The onboarding settings: one row, changed through PUT /api/admin/config.
CREATE TABLE onboarding_config (
  id                           boolean PRIMARY KEY DEFAULT true CHECK (id),
  batch_size                   integer NOT NULL DEFAULT 20 CHECK (batch_size > 0),
  rate_limit_directory_per_min integer NOT NULL DEFAULT 10 CHECK (rate_limit_directory_per_min > 0),
  rate_limit_lms_per_min       integer NOT NULL DEFAULT 30 CHECK (rate_limit_lms_per_min > 0),
  rate_limit_email_per_min     integer NOT NULL DEFAULT 60 CHECK (rate_limit_email_per_min > 0),
  updated_at                   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO onboarding_config DEFAULT VALUES;

-- Every unit of onboarding work: an ingest, its batches, each student's workflow.
CREATE TABLE tasks (
  id           uuid PRIMARY KEY,
  type         text NOT NULL CHECK (type IN ('ingest', 'batch', 'workflow')),
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed')),
  parent_id    uuid REFERENCES tasks (id),
  student_id   text,
  entity_count integer NOT NULL DEFAULT 0,
  details      jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  heartbeat_at timestamptz,
  finished_at  timestamptz
);
CREATE INDEX tasks_by_type_status ON tasks (type, status, created_at DESC);
CREATE INDEX tasks_children ON tasks (parent_id);
CREATE INDEX tasks_running ON tasks (heartbeat_at) WHERE status = 'running';

-- Students onboarding has seen: a re-ingest finds them here and starts nothing new.
CREATE TABLE onboarded_students (
  student_id       text PRIMARY KEY,
  name             text NOT NULL,
  email            text NOT NULL,
  -- Deferred: the student is claimed first (the key decides who is new), its task written after.
  workflow_task_id uuid NOT NULL REFERENCES tasks (id) DEFERRABLE INITIALLY DEFERRED,
  seen_at          timestamptz NOT NULL DEFAULT now()
);

-- Effects that have no natural "look up before create" at their provider (a sent e-mail):
-- recorded once done, so a retried step skips them.
CREATE TABLE provider_effects (
  student_id  text NOT NULL,
  effect      text NOT NULL,
  external_id text,
  done_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (student_id, effect)
);

-- Down Migration
DROP TABLE provider_effects;
DROP TABLE onboarded_students;
DROP TABLE tasks;
DROP TABLE onboarding_config;
