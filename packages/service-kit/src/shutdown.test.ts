import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createShutdown, weightFor, type ShutdownBudget } from './shutdown.js';

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('createShutdown', () => {
  afterEach(() => vi.restoreAllMocks());

  it('shares one deadline among the steps by weight, so a drain that hangs cannot starve the steps after it', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const ran: string[] = [];
    const budgets: Record<string, ShutdownBudget> = {};
    const started = Date.now();
    await createShutdown(
      logger,
      [
        { name: 'mark not ready', run: async () => void ran.push('mark not ready') },
        {
          name: 'drain',
          weight: 6,
          run: async (budget) => {
            budgets.drain = budget;
            ran.push('drain');
            await new Promise(() => undefined); // never finishes
          },
        },
        { name: 'close broker', run: async (budget) => void ((budgets.broker = budget), ran.push('close broker')) },
        { name: 'close database', run: async (budget) => void ((budgets.database = budget), ran.push('close database')) },
      ],
      1_000,
    )('test');
    const took = Date.now() - started;
    expect(ran).toEqual(['mark not ready', 'drain', 'close broker', 'close database']);
    expect(took).toBeLessThan(1_000);
    // The drain's share of the time left (6 of 8 weights of ~900 ms), not all of it.
    expect(budgets.drain!.ms).toBeGreaterThan(600);
    expect(budgets.drain!.ms).toBeLessThan(720);
    // What the hung drain could not use was still there for the steps after it.
    expect(budgets.broker!.ms).toBeGreaterThan(60);
    expect(budgets.database!.ms).toBeGreaterThan(60);
    expect(exit).not.toHaveBeenCalled();
  });

  it('gives the time an early step did not use to the later ones', async () => {
    const budgets: number[] = [];
    await createShutdown(
      logger,
      [
        { name: 'quick', weight: 1, run: async (budget) => void budgets.push(budget.ms) },
        { name: 'drain', weight: 1, run: async (budget) => void budgets.push(budget.ms) },
      ],
      2_000,
    )('test');
    expect(budgets[0]).toBeGreaterThan(850);
    expect(budgets[0]).toBeLessThan(1_000);
    expect(budgets[1]).toBeGreaterThan(budgets[0]! * 1.8);
  });

  it('runs once however often it is called, and a failing step does not stop the next', async () => {
    let runs = 0;
    const closed: string[] = [];
    const shutdown = createShutdown(
      logger,
      [
        {
          name: 'fails',
          run: async () => {
            runs += 1;
            await sleep(5);
            throw new Error('boom');
          },
        },
        { name: 'close', run: async () => void closed.push('close') },
      ],
      1_000,
    );
    await Promise.all([shutdown('SIGTERM'), shutdown('SIGINT')]);
    expect(runs).toBe(1);
    expect(closed).toEqual(['close']);
  });

  it('gives a fixed wait (the gateway’s drain delay) a weight whose share covers all of it', async () => {
    const budgets: Record<string, ShutdownBudget> = {};
    const rest = 10;
    await createShutdown(
      logger,
      [
        { name: 'mark not ready', run: async () => undefined },
        { name: 'wait', weight: weightFor(500, 2_000, rest), run: async (budget) => void (budgets.wait = budget) },
        { name: 'finish', weight: 6, run: async () => undefined },
        ...Array.from({ length: 4 }, (_, i) => ({ name: `close ${i}`, run: async () => undefined })),
      ],
      2_000,
    )('test');
    expect(budgets.wait!.ms).toBeGreaterThanOrEqual(500);
    expect(budgets.wait!.ms).toBeLessThan(560);
  });

  it('weighs a step that needs a fixed wait (needsMs) against the steps after it, so its share covers the wait', async () => {
    const budgets: Record<string, ShutdownBudget> = {};
    await createShutdown(
      logger,
      [
        { name: 'mark not ready', run: async () => undefined },
        { name: 'wait', needsMs: 500, run: async (budget) => void (budgets.wait = budget) },
        { name: 'finish', weight: 6, run: async () => undefined },
        ...Array.from({ length: 4 }, (_, i) => ({ name: `close ${i}`, run: async () => undefined })),
      ],
      2_000,
    )('test');
    expect(budgets.wait!.ms).toBeGreaterThanOrEqual(500);
    expect(budgets.wait!.ms).toBeLessThan(560);
  });
});
