-- Up Migration

-- GET /api/admin/tasks/summary counts tasks by type and status. Counting the table on each
-- call costs O(history) (every onboarding task ever run). Instead the counts are kept as the
-- rows change: statement-level triggers append one delta per (type, status) a statement
-- changed (an INSERT into status_deltas: no row lock, so no contention and no deadlock between
-- concurrent writers), and a periodic fold (and each summary) moves the deltas into
-- status_totals under an advisory lock. A read is totals + pending deltas: as exact as a
-- count(*), at a cost bounded by the number of (type, status) pairs and of statements since
-- the last fold — not by history. Items are '<type>.<status>'.
CREATE TABLE status_totals (
  item text PRIMARY KEY,
  n    bigint NOT NULL
);
CREATE TABLE status_deltas (
  id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  item text NOT NULL,
  n    bigint NOT NULL
);

CREATE FUNCTION task_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO status_deltas (item, n)
  SELECT type || '.' || status, count(*) FROM new_rows GROUP BY type, status;
  RETURN NULL;
END $$;

CREATE FUNCTION task_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO status_deltas (item, n)
  SELECT type || '.' || status, -count(*) FROM old_rows GROUP BY type, status;
  RETURN NULL;
END $$;

CREATE FUNCTION task_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO status_deltas (item, n)
  SELECT type || '.' || status, sum(n)
  FROM (SELECT type, status, -1 AS n FROM old_rows UNION ALL SELECT type, status, 1 FROM new_rows) c
  GROUP BY type, status HAVING sum(n) <> 0;
  RETURN NULL;
END $$;

CREATE FUNCTION task_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM status_totals;
  DELETE FROM status_deltas;
  RETURN NULL;
END $$;

CREATE TRIGGER tasks_counted_insert AFTER INSERT ON tasks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_counts_inserted();
CREATE TRIGGER tasks_counted_delete AFTER DELETE ON tasks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION task_counts_deleted();
CREATE TRIGGER tasks_counted_update AFTER UPDATE ON tasks
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_counts_updated();
CREATE TRIGGER tasks_counted_truncate AFTER TRUNCATE ON tasks
  FOR EACH STATEMENT EXECUTE FUNCTION task_counts_truncated();

-- What is already there, counted once (the triggers above hold off writers until this commits).
INSERT INTO status_totals (item, n) SELECT type || '.' || status, count(*) FROM tasks GROUP BY type, status;

-- Down Migration
DROP TRIGGER tasks_counted_truncate ON tasks;
DROP TRIGGER tasks_counted_update ON tasks;
DROP TRIGGER tasks_counted_delete ON tasks;
DROP TRIGGER tasks_counted_insert ON tasks;
DROP FUNCTION task_counts_truncated();
DROP FUNCTION task_counts_updated();
DROP FUNCTION task_counts_deleted();
DROP FUNCTION task_counts_inserted();
DROP TABLE status_deltas;
DROP TABLE status_totals;
