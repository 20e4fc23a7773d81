import { randomUUID } from 'node:crypto';
import { createPool, type Sql } from '@cupo/database';

/** A statement a store sent (captured with the pool's onQuery hook), with the method that sent it. */
export type Captured = { query: string; parameters: readonly unknown[]; caller: string };

/**
 * A pool that records every statement it sends (the pool's onQuery hook), with the store method
 * that sent it: `as(name, call)` runs `call` under `name`. The caller ends the pool.
 */
export function capturing(url: string, applicationName: string, max = 2) {
  const statements: Captured[] = [];
  let caller = '';
  const pool = createPool({
    url,
    max,
    applicationName,
    onQuery: (query, parameters) => void statements.push({ query, parameters, caller }),
  });
  const as = async <T>(name: string, call: () => Promise<T>): Promise<T> => {
    caller = name;
    return call();
  };
  return { pool, statements, as };
}

export function planText(plan: readonly Record<string, unknown>[]): string {
  return plan.map((row) => row['QUERY PLAN']).join('\n');
}

/** A parameter as an SQL literal, for EXECUTE of a statement prepared from the captured text. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return `'${value.toISOString()}'`;
  return `'${String(value).replaceAll("'", "''")}'`;
}

/**
 * The generic plan of a captured statement (what a prepared statement falls back to after five
 * runs). `seqscan: false` prices sequential scans out, so one shows only where no index serves;
 * left on, the plan is what the planner would really pick at the table's size.
 */
export async function explainGeneric(
  sql: Sql,
  { query, parameters }: Pick<Captured, 'query' | 'parameters'>,
  seqscan = false,
): Promise<string> {
  const name = `generic_${randomUUID().replaceAll('-', '')}`;
  return planText(
    await sql.begin(async (tx) => {
      if (!seqscan) await tx`SET LOCAL enable_seqscan = off`;
      await tx`SET LOCAL plan_cache_mode = force_generic_plan`;
      await tx.unsafe(`PREPARE ${name} AS ${query}`);
      const plan = await tx.unsafe(`EXPLAIN EXECUTE ${name}${parameters.length ? `(${parameters.map(literal).join(', ')})` : ''}`);
      await tx.unsafe(`DEALLOCATE ${name}`);
      return plan;
    }),
  );
}
