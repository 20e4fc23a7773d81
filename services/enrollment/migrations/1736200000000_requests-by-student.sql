-- Up Migration

-- A student's own requests, newest first (GET /api/enrollments/requests): the UI asks for the
-- open ones whenever a student comes back to a page, so each page is a range scan of this
-- index rather than a scan of every request ever made.
CREATE INDEX enrollment_requests_by_student ON enrollment_requests (student_id, accepted_at DESC, id DESC);

-- Down Migration
DROP INDEX enrollment_requests_by_student;
