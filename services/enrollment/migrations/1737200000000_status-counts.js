// Requests and sagas counted by status, as @cupo/status-counts keeps counts
// (packages/status-counts/src/migration.ts): items '<table>.<status>'.
import { statusCountsMigration } from '@cupo/status-counts';

export const { up, down } = statusCountsMigration({
  counted: [
    { table: 'enrollment_requests', prefix: 'enrollment_requests', groupBy: ['status'] },
    { table: 'sagas', prefix: 'sagas', groupBy: ['status'] },
  ],
  replaces: ['status_counts'], // the functions 1737100000000_status-counts.sql once made
});
