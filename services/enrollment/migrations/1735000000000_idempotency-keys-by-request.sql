-- Up Migration

-- A request's end shortens its derived key's life (a saga's end in saga-store.ts looks the
-- key up by request_id). Without this index every finished request scanned the whole key
-- table: O(keys) per request, measured as one sequential scan per request in the benchmark.
CREATE INDEX idempotency_keys_request ON idempotency_keys (request_id) WHERE derived;

-- Down Migration
DROP INDEX idempotency_keys_request;
