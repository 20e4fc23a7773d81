import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../../..');

const SKIPPED = new Set(['node_modules', 'dist', '.git', '.tools', '.run', 'test-results', 'coverage', 'bench-results']);

/** Every file under `dir` (relative to the repository root) whose name passes `keep`, as repository paths. */
export function filesUnder(dir: string, keep: (path: string) => boolean): string[] {
  const found: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      if (SKIPPED.has(entry.name)) continue;
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (keep(path)) found.push(relative(ROOT, path));
    }
  };
  walk(join(ROOT, dir));
  return found.sort();
}

export const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
