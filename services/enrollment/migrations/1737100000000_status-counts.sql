-- Up Migration

-- GET /api/ops/stats counts requests and sagas by status. Counting the tables on each call
-- costs O(history) (a million finished requests: a second of PostgreSQL per call). Instead the
-- counts are kept as the rows change: statement-level triggers append one delta per status a
-- statement changed (an INSERT into status_deltas, no row lock, so no contention and no
-- deadlock between concurrent requests), and a periodic fold (and each stats call) moves the
-- deltas into status_totals under an advisory lock. A read is totals + pending deltas: as
-- exact as a count(*), at a cost bounded by the number of statuses and of statements since the
-- last fold — not by history. Items are '<table>.<status>'.
CREATE TABLE status_totals (
  item text PRIMARY KEY,
  n    bigint NOT NULL
);
CREATE TABLE status_deltas (
  id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  item text NOT NULL,
  n    bigint NOT NULL
);

CREATE FUNCTION status_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO status_deltas (item, n)
  SELECT TG_TABLE_NAME || '.' || status, count(*) FROM new_rows GROUP BY status;
  RETURN NULL;
END $$;

CREATE FUNCTION status_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO status_deltas (item, n)
  SELECT TG_TABLE_NAME || '.' || status, -count(*) FROM old_rows GROUP BY status;
  RETURN NULL;
END $$;

CREATE FUNCTION status_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO status_deltas (item, n)
  SELECT TG_TABLE_NAME || '.' || status, sum(n)
  FROM (SELECT status, -1 AS n FROM old_rows UNION ALL SELECT status, 1 FROM new_rows) c
  GROUP BY status HAVING sum(n) <> 0;
  RETURN NULL;
END $$;

CREATE FUNCTION status_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM status_totals WHERE item LIKE TG_TABLE_NAME || '.%';
  DELETE FROM status_deltas WHERE item LIKE TG_TABLE_NAME || '.%';
  RETURN NULL;
END $$;

CREATE TRIGGER enrollment_requests_counted_insert AFTER INSERT ON enrollment_requests
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION status_counts_inserted();
CREATE TRIGGER enrollment_requests_counted_delete AFTER DELETE ON enrollment_requests
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION status_counts_deleted();
CREATE TRIGGER enrollment_requests_counted_update AFTER UPDATE ON enrollment_requests
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION status_counts_updated();
CREATE TRIGGER enrollment_requests_counted_truncate AFTER TRUNCATE ON enrollment_requests
  FOR EACH STATEMENT EXECUTE FUNCTION status_counts_truncated();
CREATE TRIGGER sagas_counted_insert AFTER INSERT ON sagas
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION status_counts_inserted();
CREATE TRIGGER sagas_counted_delete AFTER DELETE ON sagas
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION status_counts_deleted();
CREATE TRIGGER sagas_counted_update AFTER UPDATE ON sagas
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION status_counts_updated();
CREATE TRIGGER sagas_counted_truncate AFTER TRUNCATE ON sagas
  FOR EACH STATEMENT EXECUTE FUNCTION status_counts_truncated();

-- What is already there, counted once (the triggers above hold off writers until this commits).
INSERT INTO status_totals (item, n)
SELECT 'enrollment_requests.' || status, count(*) FROM enrollment_requests GROUP BY status
UNION ALL
SELECT 'sagas.' || status, count(*) FROM sagas GROUP BY status;

-- Down Migration
DROP TRIGGER sagas_counted_truncate ON sagas;
DROP TRIGGER sagas_counted_update ON sagas;
DROP TRIGGER sagas_counted_delete ON sagas;
DROP TRIGGER sagas_counted_insert ON sagas;
DROP TRIGGER enrollment_requests_counted_truncate ON enrollment_requests;
DROP TRIGGER enrollment_requests_counted_update ON enrollment_requests;
DROP TRIGGER enrollment_requests_counted_delete ON enrollment_requests;
DROP TRIGGER enrollment_requests_counted_insert ON enrollment_requests;
DROP FUNCTION status_counts_truncated();
DROP FUNCTION status_counts_updated();
DROP FUNCTION status_counts_deleted();
DROP FUNCTION status_counts_inserted();
DROP TABLE status_deltas;
DROP TABLE status_totals;
