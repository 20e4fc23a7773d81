-- Up Migration

-- GET /api/admin/tasks pages newest first by (created_at, id): an ingest plans all its tasks
-- in one transaction, so created_at ties are the rule and id orders them. Each filter the
-- endpoint takes has an index that yields rows in that order, so a page is one range scan
-- from the cursor instead of a sort of every matching task (the filters combine: type with
-- status, or a parent with a type — a parent's children are few kinds).
CREATE INDEX tasks_page ON tasks (created_at, id);
CREATE INDEX tasks_by_type_page ON tasks (type, created_at, id);
CREATE INDEX tasks_by_status_page ON tasks (status, created_at, id);
CREATE INDEX tasks_by_type_status_page ON tasks (type, status, created_at, id);
CREATE INDEX tasks_by_parent_page ON tasks (parent_id, created_at, id);
-- Superseded: the same leading columns, without the order a page needs.
DROP INDEX tasks_by_type_status;
DROP INDEX tasks_children;

-- Down Migration
CREATE INDEX tasks_children ON tasks (parent_id);
CREATE INDEX tasks_by_type_status ON tasks (type, status, created_at DESC);
DROP INDEX tasks_by_parent_page;
DROP INDEX tasks_by_type_status_page;
DROP INDEX tasks_by_status_page;
DROP INDEX tasks_by_type_page;
DROP INDEX tasks_page;
