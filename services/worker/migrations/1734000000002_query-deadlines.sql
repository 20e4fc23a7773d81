-- Up Migration

-- A query's life is bounded: still pending at deadline_at, it ends `failed`
-- (QUERY_DEADLINE_EXCEEDED). announced_at is when its message last went out, so the stale sweep
-- re-announces a query at most once per STALE_QUERY_MS instead of on every pass.
ALTER TABLE queries
  ADD COLUMN deadline_at  timestamptz,
  ADD COLUMN announced_at timestamptz NOT NULL DEFAULT now();
-- Queries recorded before deadlines existed get the default QUERY_DEADLINE_MS (120 s).
UPDATE queries SET deadline_at = created_at + interval '120 seconds', announced_at = created_at;
ALTER TABLE queries ALTER COLUMN deadline_at SET NOT NULL;

-- Down Migration
ALTER TABLE queries DROP COLUMN deadline_at, DROP COLUMN announced_at;
