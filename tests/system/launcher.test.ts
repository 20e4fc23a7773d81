import { stopProcess, superviseStack, type Supervisor } from '@cupo/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, eventually, startTestStack, type TestStack } from './support.js';

/**
 * `make run`'s supervision (run.ts wires superviseStack to the stack it starts) on a stack
 * of its own: a replica that dies comes back in its place; one stopped by a shutdown does not.
 */
let stack: TestStack;
let supervisor: Supervisor;
const lines: string[] = [];

beforeAll(async () => {
  stack = await startTestStack('launcher', { replicas: { inventory: 1, booking: 0, enrollment: 0 } });
  supervisor = superviseStack(stack, (line) => lines.push(line), { initialDelayMs: 200 });
});

afterAll(async () => {
  supervisor?.stop();
  await stack?.close();
});

const inventory = () => stack.processes.find((p) => p.name === 'inventory-1')!;

describe('make run supervises its replicas', () => {
  it('restarts a SIGKILLed replica with its name and port, says so, and the API answers again', async () => {
    const api = apiClient(stack.gatewayUrl);
    const victim = inventory();
    victim.child.kill('SIGKILL');

    expect(await eventually(async () => lines.some((line) => line.startsWith('inventory-1 restarted')), 30_000, 50)).toBe(true);
    expect(lines[0]).toMatch(
      /^inventory-1 exited unexpectedly \(signal SIGKILL\); see .*inventory-1\.log; restarting it in 200 ms \(restart 1 in a row\)$/,
    );
    const revived = inventory();
    expect(revived).not.toBe(victim);
    expect(revived.port).toBe(victim.port);
    expect(revived.child.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${revived.port}/readyz`)).status).toBe(200);
    expect((await api('GET', '/api/rooms')).status).toBe(200);
  });

  it('does not restart a replica stopped by a shutdown', async () => {
    supervisor.stop();
    const before = lines.length;
    expect(await stopProcess(inventory())).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(lines.slice(before)).toEqual([]);
    expect(inventory().child.exitCode).toBe(0);
  });
});
