-- Up Migration

-- Automatic cleanup of finished sagas (SAGA_RETENTION_SECONDS): each pass deletes the oldest
-- finished sagas past retention in bounded batches, a range scan from the start of this index,
-- so a pass costs the same however many sagas the table holds.
CREATE INDEX sagas_finished ON sagas (finished_at)
  WHERE status IN ('completed', 'compensated', 'failed');

-- Down Migration
DROP INDEX sagas_finished;
