import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '@cupo/stack';

/**
 * The providers' image (the Dockerfile's `providers` stage) as compose runs it: the worker, in a
 * container of its own, reaches `graph:9500` over the network, not over the stand-in's loopback.
 * Here: the stand-in started with the stage's environment answers on this machine's own
 * non-loopback address.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The `ENV` of the Dockerfile's providers stage, as name → value. */
function providersStageEnv(): Record<string, string> {
  const stage = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .split(/^FROM /m)
    .find((s) => / AS providers$/m.test(s.split('\n')[0]!))!;
  const line = /^ENV (.+)$/m.exec(stage)![1]!;
  return Object.fromEntries(line.split(/\s+/).map((pair) => pair.split('=') as [string, string]));
}

const outside = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGTERM');
  child = undefined;
});

describe.skipIf(!outside)('the providers image', () => {
  it('listens on every address, so another container reaches a stand-in', async () => {
    const env = providersStageEnv();
    const port = await freePort();
    child = spawn(process.execPath, [join(ROOT, 'tools/providers/dist/main.js')], {
      env: { PATH: process.env.PATH, ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => child!.stdout!.once('data', () => resolve()));
    const response = await fetch(`http://${outside}:${port}/healthz`);
    expect(response.status).toBe(200);
  });
});
