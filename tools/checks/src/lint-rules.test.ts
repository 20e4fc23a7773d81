import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIOME = join(ROOT, 'node_modules/.bin/biome');

/**
 * `make lint` (run first by `make test`) only keeps the code so if biome.json's rules bite: each
 * probe below is a file that must be refused, linted with the repository's own biome.json in a
 * scratch tree laid out like the repository (the layer rules are per folder).
 */
const PROBES: Record<string, string> = {
  'services/booking/src/domain/uses-any.ts': 'export function f(x: any): number {\n  return x;\n}\n',
  // tests/ included: its JSON and YAML are read through contract types, local interfaces or unknown.
  'tests/system/uses-any.ts': 'export function f(x: any): number {\n  return x;\n}\n',
  'services/booking/src/domain/reaches-out.ts':
    "import { BookingRepository } from '../adapters/postgres/booking-repository.js';\nimport { confirmBooking } from '../app/confirm-booking.js';\nimport postgres from 'postgres';\nexport const all = [BookingRepository, confirmBooking, postgres];\n",
  'services/enrollment/src/app/uses-adapter.ts':
    "import { PostgresStore } from '../../adapters/postgres/store.js';\nexport const store = PostgresStore;\n",
  'packages/contracts/src/unused.ts': "import { z } from 'zod';\nexport function f(): number {\n  const left = 1;\n  return 2;\n}\n",
  // What the rules allow: inward imports, packages of data, vitest.
  'services/booking/src/domain/fine.ts':
    "import { IsoDate } from '@cupo/contracts';\nimport { DomainError } from '@cupo/errors';\nimport { nights } from './stay.js';\nexport const all = [IsoDate, DomainError, nights];\n",
  'services/booking/src/app/fine.ts':
    "import type { BookingRepository } from './ports.js';\nimport { nights } from '../domain/stay.js';\nexport const f = (r: BookingRepository) => [r, nights];\n",
};

interface Diagnostic {
  category: string;
  location: { path: string };
}

let scratch: string;
let diagnostics: Diagnostic[];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'cupo-lint-'));
  await copyFile(join(ROOT, 'biome.json'), join(scratch, 'biome.json'));
  for (const [path, text] of Object.entries(PROBES)) {
    await mkdir(dirname(join(scratch, path)), { recursive: true });
    await writeFile(join(scratch, path), text);
  }
  const output = await promisify(execFile)(BIOME, ['lint', '--vcs-enabled=false', '--reporter=json', '.'], { cwd: scratch }).then(
    (done) => done.stdout,
    (failed: { stdout: string }) => failed.stdout,
  );
  diagnostics = (JSON.parse(output) as { diagnostics: Diagnostic[] }).diagnostics;
}, 30_000);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const found = (path: string) => diagnostics.filter((d) => d.location.path === path).map((d) => d.category);

describe('the lint rules make test runs', () => {
  it('refuse an explicit any, in the tests too', () => {
    expect(found('services/booking/src/domain/uses-any.ts')).toEqual(['lint/suspicious/noExplicitAny']);
    expect(found('tests/system/uses-any.ts')).toEqual(['lint/suspicious/noExplicitAny']);
  });

  it('refuse a domain file importing from adapters/, app/ or a database client', () => {
    expect(found('services/booking/src/domain/reaches-out.ts')).toEqual(Array(3).fill('lint/style/noRestrictedImports'));
  });

  it('refuse a use case importing an adapter', () => {
    expect(found('services/enrollment/src/app/uses-adapter.ts')).toEqual(['lint/style/noRestrictedImports']);
  });

  it('refuse unused imports and variables', () => {
    expect(found('packages/contracts/src/unused.ts').sort()).toEqual([
      'lint/correctness/noUnusedImports',
      'lint/correctness/noUnusedVariables',
    ]);
  });

  it('let inward imports through', () => {
    expect(found('services/booking/src/domain/fine.ts')).toEqual([]);
    expect(found('services/booking/src/app/fine.ts')).toEqual([]);
  });

  it('refuse a file out of the house format: make lint runs biome check, which formats as it lints', async () => {
    const makefile = await readFile(join(ROOT, 'Makefile'), 'utf8');
    expect(makefile).toMatch(/^lint:.*\n\t\$\(PNPM\) exec biome check --error-on-warnings \.$/m);
    const path = 'services/booking/src/domain/misformatted.ts';
    await writeFile(join(scratch, path), 'export const  x = {a:1,\n  b : "two"}\n');
    const output = await promisify(execFile)(BIOME, ['check', '--vcs-enabled=false', '--reporter=json', path], { cwd: scratch }).then(
      (done) => done.stdout,
      (failed: { stdout: string }) => failed.stdout,
    );
    const categories = (JSON.parse(output) as { diagnostics: Diagnostic[] }).diagnostics.map((d) => d.category);
    expect(categories).toContain('format');
  }, 30_000);
});
