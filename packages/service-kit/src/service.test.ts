import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('../fixtures/service.mjs', import.meta.url));

/** Runs the fixture service; its stdout's JSON lines as they come. */
function runFixture(env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [FIXTURE], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const complete = buffered.split('\n');
    buffered = complete.pop()!;
    for (const line of complete) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (match: (line: Record<string, unknown>) => boolean) => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const found = lines.find(match);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no such line; got ${JSON.stringify(lines)} ${stderr}`);
  };
  return { child, lines, exited, waitFor, stderr: () => stderr };
}

const readyz = async (port: number) => {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, body: (await response.json()) as { status: string } };
};

describe('runService', () => {
  it('serves /readyz on the ops port: 503 until the service has started, 200 once it has', async () => {
    const service = runFixture({ FIXTURE_START_MS: '400' });
    try {
      const { port } = (await service.waitFor((line) => line.msg === 'http listening')) as { port: number };
      expect((await readyz(port)).status).toBe(503);
      await service.waitFor((line) => line.msg === 'fixture ready');
      expect(await readyz(port)).toEqual({ status: 200, body: { status: 'ready', checks: { dependency: 'ok' } } });
    } finally {
      service.child.kill('SIGKILL');
    }
  });

  it('on SIGTERM turns not ready, runs the service’s own steps, closes its clients in order and the ops server last, and exits 0', async () => {
    const service = runFixture();
    await service.waitFor((line) => line.msg === 'fixture ready');
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    const events = service.lines.flatMap((line) =>
      line.fixture ? [line.fixture] : line.msg === 'shutdown step done' ? [`step ${String(line.step)}`] : [],
    );
    expect(events.filter((e) => typeof e === 'string' && e.startsWith('step '))).toEqual([
      'step mark not ready',
      'step stop taking work',
      'step close rpc client',
      'step close amqp',
      'step close redis',
      'step close postgres',
      'step close ops server',
    ]);
    expect(events).toContain('stop taking work (draining: true)');
    expect(events.indexOf('rpc closed')).toBeLessThan(events.indexOf('amqp closed'));
  });

  it('can close the ops server before the clients (the gateway’s order)', async () => {
    const service = runFixture({ FIXTURE_OPS_FIRST: '1' });
    await service.waitFor((line) => line.msg === 'fixture ready');
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    const steps = service.lines.filter((line) => line.msg === 'shutdown step done').map((line) => line.step);
    expect(steps.slice(1, 4)).toEqual(['stop taking work', 'close ops server', 'close rpc client']);
  });

  it('asks and closes the shared servers a service `uses`, on its HTTP_PORT when it names no ops port', async () => {
    const service = runFixture({ FIXTURE_USES: '1', FIXTURE_DEPENDENCY_DOWN: '1' });
    const { port } = (await service.waitFor((line) => line.msg === 'http listening')) as { port: number };
    await service.waitFor((line) => line.msg === 'fixture ready');
    expect(await readyz(port)).toEqual({
      status: 503,
      body: { status: 'not_ready', checks: { postgres: 'ok', redis: 'down', rabbitmq: 'ok' } },
    });
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    const steps = service.lines.filter((line) => line.msg === 'shutdown step done').map((line) => line.step);
    expect(steps).toEqual([
      'mark not ready',
      'stop taking work',
      'close rpc client',
      'close amqp',
      'close redis',
      'close postgres',
      'close ops server',
    ]);
  });

  it('answers 503 naming the dependency that does not answer', async () => {
    const service = runFixture({ FIXTURE_DEPENDENCY_DOWN: '1' });
    try {
      const { port } = (await service.waitFor((line) => line.msg === 'http listening')) as { port: number };
      await service.waitFor((line) => line.msg === 'fixture ready');
      expect(await readyz(port)).toEqual({ status: 503, body: { status: 'not_ready', checks: { dependency: 'down' } } });
    } finally {
      service.child.kill('SIGKILL');
    }
  });

  it('ends the process with 1 and the reason when it cannot start', async () => {
    const service = runFixture({ FIXTURE_BAD_CONFIG: '1' });
    expect(await service.exited).toBe(1);
    expect(service.stderr()).toContain('FIXTURE: is broken');
  });
});
