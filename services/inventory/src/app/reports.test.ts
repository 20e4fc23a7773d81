import { describe, expect, it } from 'vitest';
import { occupancyReport, roomSearchReport } from './reports.js';
import { reserveNights } from './reservations.js';
import { createRoom } from './rooms.js';
import { InMemoryInventoryStore } from './testing/in-memory.js';

async function setup() {
  const deps = { store: new InMemoryInventoryStore(), clock: { today: () => '2030-03-01' } };
  const single = await createRoom(deps, { name: 'Single', type: 'single', total_quantity: 1, open_days: 3 });
  const double = await createRoom(deps, { name: 'Double', type: 'double', total_quantity: 4, open_days: 3 });
  await reserveNights(deps, { booking_id: 'b1', attempt: 1, room_id: single.id, nights: ['2030-03-01'] });
  await reserveNights(deps, { booking_id: 'b2', attempt: 1, room_id: double.id, nights: ['2030-03-01', '2030-03-02'] });
  return deps;
}

describe('inventory reports', () => {
  it('occupancy: per room, room-nights on sale and sold over the window', async () => {
    const deps = await setup();
    const rows = await occupancyReport(deps, { from: '2030-03-01', to: '2030-03-03' });
    expect(rows.map(({ name, room_nights, sold }) => ({ name, room_nights, sold }))).toEqual([
      { name: 'Single', room_nights: 2, sold: 1 },
      { name: 'Double', room_nights: 8, sold: 2 },
    ]);
  });

  it('room search: only rooms with enough free units on every night, freest first', async () => {
    const deps = await setup();
    expect((await roomSearchReport(deps, { from: '2030-03-01', to: '2030-03-03', min_available: 1 })).map((r) => r.name)).toEqual([
      'Double',
    ]);
    expect(
      (await roomSearchReport(deps, { from: '2030-03-02', to: '2030-03-04', min_available: 1 })).map((r) => [r.name, r.min_available]),
    ).toEqual([
      ['Double', 3],
      ['Single', 1],
    ]);
    expect(await roomSearchReport(deps, { from: '2030-03-01', to: '2030-03-03', min_available: 4 })).toEqual([]);
  });
});
