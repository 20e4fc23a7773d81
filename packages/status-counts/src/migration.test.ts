import { describe, expect, it } from 'vitest';
import { statusCountsMigration } from './migration.js';

/** The SQL a migration's `up` or `down` sends. */
function sent(run: (pgm: { sql: (text: string) => void }) => void): string {
  const statements: string[] = [];
  run({ sql: (text) => void statements.push(text) });
  return statements.join('\n');
}

describe('statusCountsMigration', () => {
  it('refuses names it would have to quote, and a table without a prefix beside another', () => {
    expect(() => statusCountsMigration({ counted: [{ table: 'tasks; DROP TABLE x', groupBy: ['status'] }] })).toThrow(
      /not a plain identifier/,
    );
    expect(() => statusCountsMigration({ counted: [{ table: 'tasks', groupBy: ["status'"] }] })).toThrow(/not a plain identifier/);
    expect(() => statusCountsMigration({ counted: [{ table: 'tasks', groupBy: [] }] })).toThrow(/no column/);
    expect(() =>
      statusCountsMigration({
        counted: [
          { table: 'tasks', groupBy: ['status'] },
          { table: 'sagas', prefix: 'sagas', groupBy: ['status'] },
        ],
      }),
    ).toThrow(/only one counted/);
  });

  it('makes the triggers again by name and drops the functions they called; down removes what up made', () => {
    const migration = statusCountsMigration({
      counted: [{ table: 'tasks', groupBy: ['type', 'status'] }],
      replaces: ['task_counts'],
    });
    const up = sent(migration.up);
    for (const event of ['insert', 'delete', 'update', 'truncate']) {
      expect(up).toMatch(
        new RegExp(
          `DROP TRIGGER IF EXISTS tasks_counted_${event} ON tasks;\\s*CREATE TRIGGER tasks_counted_${event} [^;]*status_counts_changed\\('', 'type', 'status'\\)`,
        ),
      );
    }
    // Recounted while writers wait, before the triggers are (re)made.
    expect(up.indexOf('LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE')).toBeGreaterThan(0);
    expect(up.indexOf("SELECT status_counts_recount('tasks', '', ARRAY['type', 'status']::text[])")).toBeGreaterThan(
      up.indexOf('LOCK TABLE tasks'),
    );
    expect(up.indexOf('DROP TRIGGER')).toBeGreaterThan(up.indexOf('SELECT status_counts_recount('));
    expect(up.match(/DROP FUNCTION IF EXISTS task_counts_\w+\(\)/g)).toEqual([
      'DROP FUNCTION IF EXISTS task_counts_inserted()',
      'DROP FUNCTION IF EXISTS task_counts_deleted()',
      'DROP FUNCTION IF EXISTS task_counts_updated()',
      'DROP FUNCTION IF EXISTS task_counts_truncated()',
    ]);
    const down = sent(migration.down);
    expect(down.match(/DROP TRIGGER IF EXISTS \w+ ON tasks/g)).toHaveLength(4);
    expect(down).toMatch(/DROP TABLE IF EXISTS status_deltas;\nDROP TABLE IF EXISTS status_totals;$/);
  });
});
