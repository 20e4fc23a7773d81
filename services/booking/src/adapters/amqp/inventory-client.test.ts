import type { RpcClient } from '@cupo/amqp';
import { describe, expect, it } from 'vitest';
import { InventoryRpcClient } from './inventory-client.js';

/**
 * Per-room coalescing stays bounded (issue 16.4): an availability read is shared only while it
 * is in flight, and leaves the map when it settles, answered or failed — so the map holds at
 * most the reads in flight (each bounded by its deadline), never one entry per room and range
 * ever asked about.
 */
describe('coalesced availability reads', () => {
  it('share one call per room and range while in flight, and leave nothing behind once settled', async () => {
    const settle: Array<() => void> = [];
    let calls = 0;
    const rpc = {
      call: (_command: unknown, payload: { room_id: number }) => {
        calls += 1;
        return new Promise((resolve, reject) =>
          settle.push(() => (payload.room_id % 3 === 0 ? reject(new Error('timed out')) : resolve([]))),
        );
      },
    } as unknown as RpcClient;
    const inventory = new InventoryRpcClient(rpc, 1_000);
    const inFlight = (inventory as unknown as { inFlight: Map<string, unknown> }).inFlight;
    const context = { requestId: 'r', deadline: Date.now() + 1_000 };

    for (let round = 0; round < 20; round++) {
      const reads = [];
      for (let room = 0; room < 500; room++) {
        // Three askers for each room and range: one call between them.
        for (let asker = 0; asker < 3; asker++)
          reads.push(inventory.availability(room, [`2026-12-${String(1 + (round % 28)).padStart(2, '0')}`], context).catch(() => 'failed'));
      }
      expect(inFlight.size).toBe(500);
      for (const done of settle.splice(0)) done();
      await Promise.all(reads);
      expect(inFlight.size).toBe(0);
    }
    expect(calls).toBe(20 * 500);
  });
});
