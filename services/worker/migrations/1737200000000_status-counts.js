// Tasks counted by type and status, as @cupo/status-counts keeps counts
// (packages/status-counts/src/migration.ts): items '<type>.<status>'.
import { statusCountsMigration } from '@cupo/status-counts';

export const { up, down } = statusCountsMigration({
  counted: [{ table: 'tasks', groupBy: ['type', 'status'] }],
  replaces: ['task_counts'], // the functions 1737100000000_task-counts.sql once made
});
