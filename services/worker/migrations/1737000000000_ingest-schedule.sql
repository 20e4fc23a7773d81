-- Up Migration

-- The ingest schedule (seed 004's nightly ingest), changed at run time through PUT /api/admin/config:
-- a cron expression read in an IANA time zone, or off (both NULL). `ingest_schedule_since` is when
-- it was last changed: slots before it are not this schedule's and never fire.
ALTER TABLE onboarding_config
  ADD COLUMN ingest_cron           text,
  ADD COLUMN ingest_time_zone      text,
  ADD COLUMN ingest_schedule_since timestamptz NOT NULL DEFAULT now(),
  ADD CONSTRAINT onboarding_config_schedule_whole CHECK ((ingest_cron IS NULL) = (ingest_time_zone IS NULL));

-- One row per slot that fired: the primary key is the arbiter between worker replicas. The
-- replica whose INSERT … ON CONFLICT DO NOTHING takes the row creates the slot's ingest task
-- (and its outbox message) in the same transaction; every other replica finds the row and
-- does nothing. Deferred: the slot is taken first, its task written after.
CREATE TABLE ingest_schedule_slots (
  slot_at   timestamptz PRIMARY KEY,
  task_id   uuid NOT NULL REFERENCES tasks (id) DEFERRABLE INITIALLY DEFERRED,
  cron      text NOT NULL,
  time_zone text NOT NULL,
  fired_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE ingest_schedule_slots;
ALTER TABLE onboarding_config
  DROP CONSTRAINT onboarding_config_schedule_whole,
  DROP COLUMN ingest_schedule_since,
  DROP COLUMN ingest_time_zone,
  DROP COLUMN ingest_cron;
