-- Up Migration

-- Claims. A task (ingest, batch, workflow) is run by one owner at a time: one run of one replica,
-- holding the task until lease_until and renewing it with its heartbeat. A redelivered message
-- finds the lease held and waits its turn; a dead owner's lease runs out and another run takes
-- over. `attempts` counts a workflow's claims whose run did not end it (WORKFLOW_MAX_ATTEMPTS).
ALTER TABLE tasks
  ADD COLUMN owner       text,
  ADD COLUMN lease_until timestamptz,
  ADD COLUMN attempts    integer NOT NULL DEFAULT 0;
CREATE INDEX tasks_by_owner ON tasks (owner) WHERE owner IS NOT NULL;

-- An effect with no "look up before create" at its provider (the welcome e-mail) is claimed
-- before it is done (`claimed`, with its owner's lease) and confirmed after (`done`): two runs
-- can never both send, and a claim whose owner died unconfirmed is taken over once its lease
-- ends (the mail is sent again, with the same Message-ID: at-least-once).
ALTER TABLE provider_effects
  ADD COLUMN status      text NOT NULL DEFAULT 'done' CHECK (status IN ('claimed', 'done')),
  ADD COLUMN owner       text,
  ADD COLUMN lease_until timestamptz,
  ADD COLUMN claims      integer NOT NULL DEFAULT 1,
  -- The default stays: the previous version, still running during a rolling upgrade, records
  -- a sent e-mail without naming `status` or `done_at` (a `done` row, stamped now).
  ALTER COLUMN done_at DROP NOT NULL;
ALTER TABLE provider_effects ADD CONSTRAINT provider_effects_done CHECK ((status = 'done') = (done_at IS NOT NULL));

-- Down Migration
DELETE FROM provider_effects WHERE status = 'claimed';
ALTER TABLE provider_effects DROP CONSTRAINT provider_effects_done;
ALTER TABLE provider_effects
  DROP COLUMN status, DROP COLUMN owner, DROP COLUMN lease_until, DROP COLUMN claims,
  ALTER COLUMN done_at SET DEFAULT now(),
  ALTER COLUMN done_at SET NOT NULL;
DROP INDEX tasks_by_owner;
ALTER TABLE tasks DROP COLUMN owner, DROP COLUMN lease_until, DROP COLUMN attempts;
