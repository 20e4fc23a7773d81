import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, filesUnder, read } from './sources.js';

/**
 * Comments and docs that name a file which is gone mislead the next reader more than no
 * comment at all (a migration once pointed at an outbox-relay source file that never
 * existed). Every script or source file named in the README, docs/ or a code comment must exist:
 * a name is found when some file's path ends with it, reading `.js` as its `.ts` source and
 * `dist/` as `src/`.
 */
const NAME = /(?<![\w@$*.-])((?:[\w.-]+\/)*[\w-]+(?:\.[\w-]+)*\.(?:ts|js|mjs|cjs|sh))\b(?!\.\w|\/|\()/g;
/** Words that look like file names and are not: products and domains. */
const NOT_FILES = new Set(['Node.js', 'helm.sh', 'keda.sh']);

const code = ['packages', 'services', 'tools', 'tests', 'load-tests'].flatMap((dir) =>
  filesUnder(dir, (path) => /\.(ts|js|mjs|cjs|sql)$/.test(path)),
);
const docs = ['README.md', ...filesUnder('docs', (path) => path.endsWith('.md'))];
const everyFile = ['.', 'packages', 'services', 'tools', 'tests', 'load-tests', 'charts', 'deploy', 'docs'].flatMap((dir) =>
  dir === '.' ? ['Makefile', 'Dockerfile', 'vitest.config.ts'] : filesUnder(dir, () => true),
);

function exists(name: string): boolean {
  const candidates = [name, name.replace(/\.js$/, '.ts')].flatMap((c) => [c, c.replace(/(^|\/)dist\//, '$1src/')]);
  return candidates.some((c) => existsSync(join(ROOT, c)) || everyFile.some((path) => path.endsWith(`/${c}`) || path === c));
}

/** The comment text of a source line: after `//` (`--` in SQL), or inside a block comment. */
function commentOf(line: string, sql: boolean): string | undefined {
  if (sql) return line.includes('-- ') ? line.slice(line.indexOf('-- ') + 3) : undefined;
  const block = /^\s*(\/\*\*?|\*)(?!\/)/.exec(line);
  if (block) return line.slice(block.index + block[0].length);
  const at = line.indexOf('// ');
  return at >= 0 && !line.slice(0, at).includes("'") && !line.slice(0, at).includes('`') ? line.slice(at + 3) : undefined;
}

function missingIn(path: string, text: string, isDoc: boolean): string[] {
  return text.split('\n').flatMap((line, i) => {
    const words = isDoc ? line : commentOf(line, path.endsWith('.sql'));
    if (!words) return [];
    return [...words.matchAll(NAME)]
      .map((m) => m[1]!)
      .filter((name) => !NOT_FILES.has(name) && !name.includes('://') && !exists(name))
      .map((name) => `${path}:${i + 1}: ${name}`);
  });
}

describe('references to files', () => {
  it('in the README, docs/ and code comments name files that exist', () => {
    const missing = [
      ...docs.flatMap((path) => missingIn(path, read(path), true)),
      ...code.flatMap((path) => missingIn(path, read(path), false)),
    ];
    expect(missing).toEqual([]);
  });

  it('are found, and a missing one is reported', () => {
    expect(missingIn('x.ts', '// see packages/outbox/src/index.ts and src/app.js, built to dist/migrate.js', false)).toEqual([]);
    expect(missingIn('x.ts', "// the relay in outbox-relay.ts\nconst a = 'b.ts';", false)).toEqual(['x.ts:1: outbox-relay.ts']);
    expect(missingIn('m.sql', '-- published by the relay after commit (see outbox-relay.ts).', false)).toEqual([
      'm.sql:1: outbox-relay.ts',
    ]);
    expect(missingIn('README.md', 'run `tools/stack/browser-tools.sh` or tools/nothing-here.sh on Node.js', true)).toEqual([
      'README.md:1: tools/nothing-here.sh',
    ]);
  });
});

describe('the README on the outbox relay', () => {
  it('says how the relay really wakes: kicked after the commit and polling, not LISTEN/NOTIFY', () => {
    const relay = read('packages/outbox/src/index.ts');
    const readme = read('README.md');
    expect(relay).not.toMatch(/\.listen\(/);
    expect(readme.replace(/\s+/g, ' ').match(/relay[^.]*wakes on `?LISTEN[^.]*/)?.[0]).toBeUndefined();
    expect(readme).toMatch(/OUTBOX_POLL_MS/);
  });
});
