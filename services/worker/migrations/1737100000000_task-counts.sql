-- Up Migration

-- GET /api/admin/tasks/summary counts tasks by type and status from counts kept as the rows
-- change. The tables, the trigger function and the triggers are @cupo/status-counts' (migration
-- 1737200000000_status-counts.js). This migration once made them with functions of its own; a
-- database it ran on keeps them until that migration replaces them (same tables, same trigger
-- names, one shared function), so what it made and what a new database gets end the same.

-- Down Migration
