import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startProcess, stopProcess, waitReady, type ProcessSpec, type ServiceProcess } from './processes.js';
import { freePort } from './stack.js';
import { Supervisor } from './supervisor.js';

/**
 * The launcher's supervisor with real child processes: a tiny program that serves
 * /readyz (MODE=serve) or dies at once (MODE=crash).
 */
let dir: string;
let entry: string;
const running: ServiceProcess[] = [];
const supervisors: Supervisor[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cupo-supervisor-'));
  entry = join(dir, 'replica.mjs');
  writeFileSync(
    entry,
    `import { createServer } from 'node:http';
if (process.env.MODE === 'crash') process.exit(3);
createServer((req, res) => res.end('ok')).listen(Number(process.env.HTTP_PORT), '127.0.0.1');
`,
  );
});

afterEach(async () => {
  for (const supervisor of supervisors.splice(0)) supervisor.stop();
  await Promise.all(running.splice(0).map((proc) => stopProcess(proc, 2_000)));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function spec(mode: 'serve' | 'crash'): Promise<ProcessSpec> {
  const port = await freePort();
  return { name: 'replica-1', entry, port, env: { ...process.env, MODE: mode, HTTP_PORT: String(port) }, logDir: dir };
}

async function start(from: ProcessSpec): Promise<ServiceProcess> {
  const proc = startProcess(from);
  running.push(proc);
  await waitReady(proc, 10_000);
  return proc;
}

function supervise(restartFrom: () => ProcessSpec, options: { initialDelayMs?: number; maxDelayMs?: number; stableAfterMs?: number } = {}) {
  const lines: string[] = [];
  const attempts: number[] = [];
  const supervisor = new Supervisor({
    ...options,
    log: (line) => lines.push(line),
    restart: async () => {
      attempts.push(Date.now());
      return start(restartFrom());
    },
  });
  supervisors.push(supervisor);
  return { supervisor, lines, attempts };
}

const until = async (check: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return check();
};

describe('the launcher supervisor', () => {
  it('restarts a replica that dies, in its place, and says so', async () => {
    const serving = await spec('serve');
    const first = await start(serving);
    const { supervisor, lines } = supervise(() => serving, { initialDelayMs: 50 });
    supervisor.watch(first);

    first.child.kill('SIGKILL');

    expect(await until(() => lines.some((line) => line.includes('restarted')))).toBe(true);
    expect(lines[0]).toBe(
      `replica-1 exited unexpectedly (signal SIGKILL); see ${first.logFile}; restarting it in 50 ms (restart 1 in a row)`,
    );
    expect(lines[1]).toMatch(new RegExp(`^replica-1 restarted \\(pid \\d+, ops port ${serving.port}\\)$`));
    expect((await fetch(`http://127.0.0.1:${serving.port}/readyz`)).status).toBe(200);
  });

  it('waits twice as long after each failed start, up to its maximum', async () => {
    const serving = await spec('serve');
    const first = await start(serving);
    const crashing = { ...serving, env: { ...serving.env, MODE: 'crash' } };
    const { supervisor, lines, attempts } = supervise(() => crashing, { initialDelayMs: 50, maxDelayMs: 200 });
    supervisor.watch(first);

    const killedAt = Date.now();
    first.child.kill('SIGKILL');

    expect(await until(() => attempts.length >= 5, 15_000)).toBe(true);
    supervisor.stop();
    const delays = lines.map((line) => /restarting it in (\d+) ms/.exec(line)?.[1]).map(Number);
    expect(delays.slice(0, 5)).toEqual([50, 100, 200, 200, 200]);
    expect(lines[1]).toMatch(/^replica-1 did not start again \(replica-1 exited during start-up:/);
    // Each attempt came no sooner than its wait after the previous failure.
    const waits = [50, 100, 200, 200, 200];
    let previous = killedAt;
    for (const [i, at] of attempts.slice(0, 5).entries()) {
      expect(at - previous).toBeGreaterThanOrEqual(waits[i]! - 5);
      previous = at;
    }
  });

  it('starts the backoff over for a replica that ran long enough', async () => {
    const serving = await spec('serve');
    const first = await start(serving);
    const { supervisor, lines } = supervise(() => serving, { initialDelayMs: 50, stableAfterMs: 300 });
    supervisor.watch(first);

    first.child.kill('SIGKILL');
    expect(await until(() => lines.length === 2)).toBe(true);
    const second = running.at(-1)!;
    second.child.kill('SIGKILL');
    expect(await until(() => lines.length === 4)).toBe(true);
    expect(lines[2]).toContain('restarting it in 100 ms (restart 2 in a row)');
    const third = running.at(-1)!;
    await new Promise((resolve) => setTimeout(resolve, 400));
    third.child.kill('SIGKILL');
    expect(await until(() => lines.length === 6)).toBe(true);
    expect(lines[4]).toContain('restarting it in 50 ms (restart 1 in a row)');
  });

  it('leaves replicas down once a shutdown began', async () => {
    const serving = await spec('serve');
    const first = await start(serving);
    const { supervisor, lines, attempts } = supervise(() => serving, { initialDelayMs: 10 });
    supervisor.watch(first);

    supervisor.stop();
    await stopProcess(first);
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(lines).toEqual([]);
    expect(attempts).toEqual([]);
  });

  it('does not start a restart that was waiting when the shutdown began', async () => {
    const serving = await spec('serve');
    const first = await start(serving);
    const { supervisor, lines, attempts } = supervise(() => serving, { initialDelayMs: 300 });
    supervisor.watch(first);

    first.child.kill('SIGKILL');
    expect(await until(() => lines.length === 1)).toBe(true);
    supervisor.stop();
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(attempts).toEqual([]);
  });
});
