import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Running the repository's own entry points (make, the tools scripts) the way a contributor
 * would, on a PATH shaped by the test: stand-ins for outside programs (docker, kubectl, an old
 * node) first, and programs this machine has but the contributor's may not (apt-get, docker)
 * taken away.
 */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const dirs: string[] = [];
export const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), `cupo-${prefix}-`));
  dirs.push(dir);
  return dir;
};
export const removeTempDirs = () => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
};

/** Writes an executable shell script `name` into `dir`. */
export function writeCommand(dir: string, name: string, script: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${script}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** A PATH with everything the current one has except the named programs (linked one by one into a directory of its own). */
export function pathWithout(names: string[], path = process.env.PATH ?? ''): string {
  const dir = tempDir('path');
  const linked = new Set<string>();
  for (const from of path.split(delimiter).filter(Boolean)) {
    let entries: string[];
    try {
      entries = readdirSync(from);
    } catch {
      continue;
    }
    for (const name of entries) {
      if (names.includes(name) || linked.has(name)) continue;
      linked.add(name);
      symlinkSync(join(from, name), join(dir, name));
    }
  }
  return dir;
}

/** This environment without what an enclosing `make test` or vitest set for itself, nor the CUPO_* tool variables. */
export function cleanEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(([key]) => !/^(MAKE|MFLAGS|VITEST|CUPO_)/.test(key) && !['TEST', 'NODE_ENV', 'NODE_OPTIONS'].includes(key)),
  );
}

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion in the repository root (asynchronously: a test's own servers must keep answering meanwhile). */
export function runIn(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}
