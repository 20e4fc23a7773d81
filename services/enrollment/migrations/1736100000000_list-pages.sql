-- Up Migration

-- Keyset pages: each list is one index range scan from its cursor, however deep the client
-- pages. Terms and sections already have theirs (the primary key, sections_term).

-- GET /api/students/{id}/enrollments by (term, section).
CREATE INDEX enrollments_student_active_page ON enrollments (student_id, term, section) WHERE status = 'active';
-- GET /api/ops/sagas, newest first by (started_at, id), with or without a status.
CREATE INDEX sagas_page ON sagas (started_at, id);
CREATE INDEX sagas_by_status_page ON sagas (status, started_at, id);

-- Down Migration
DROP INDEX sagas_by_status_page;
DROP INDEX sagas_page;
DROP INDEX enrollments_student_active_page;
