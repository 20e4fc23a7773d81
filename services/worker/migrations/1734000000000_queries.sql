-- Up Migration

-- Asynchronous queries (reports): recorded `pending` with their outbox message, computed by a
-- worker, read back by polling. Results expire (expires_at) and are purged.
CREATE TABLE queries (
  id           uuid PRIMARY KEY,
  type         text NOT NULL,
  params       jsonb NOT NULL,
  requested_by text NOT NULL,
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'failed')),
  result       jsonb,
  error        jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  processed_at timestamptz,
  expires_at   timestamptz,
  CONSTRAINT queries_outcome CHECK ((status = 'pending') = (processed_at IS NULL))
);
CREATE INDEX queries_expiry ON queries (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX queries_pending ON queries (created_at) WHERE status = 'pending';

-- The outbox their messages go through is @cupo/outbox's table (migration 1736300000000_outbox.js).

-- Down Migration
DROP TABLE queries;
