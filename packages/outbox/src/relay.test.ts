import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ConfirmedPublisher } from '@cupo/amqp';
import type { CircuitBreakers } from '@cupo/circuit-breakers';
import type { Sql } from '@cupo/database';
import { OutboxRelay } from './index.js';

/** A relay whose database only counts the passes begun (each finds no rows). */
function countingRelay() {
  const passes = { begun: 0 };
  const sql = {
    begin: async () => {
      passes.begun++;
      return 0;
    },
  } as unknown as Sql;
  const breakers = { run: <T>(_name: string, work: () => Promise<T>) => work() } as unknown as CircuitBreakers;
  const publisher = { publish: async () => undefined } as unknown as ConfirmedPublisher;
  const relay = new OutboxRelay(sql, publisher, breakers, {
    batchSize: 10,
    pollMs: 60_000,
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
  });
  return { relay, passes };
}

describe('the outbox relay', () => {
  it('starts no drain once stopped: a late kick leaves the rows to the next poll or replica', async () => {
    const { relay, passes } = countingRelay();
    relay.kick();
    await relay.stop();
    const afterStop = passes.begun; // the kicked pass and stop's own last one
    expect(afterStop).toBe(2);
    relay.kick();
    relay.kick();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(passes.begun).toBe(afterStop);
  });

  it('goes round again when kicked during a pass, until it is stopped', async () => {
    const { relay, passes } = countingRelay();
    relay.kick();
    relay.kick(); // during the pass: one more round
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(passes.begun).toBe(2);
    await relay.stop();
  });
});
