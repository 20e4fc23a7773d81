import { describe, expect, it } from 'vitest';
import { createRoom, getAvailability, getRoom, listRooms } from './rooms.js';
import { InMemoryInventoryStore } from './testing/in-memory.js';

function setup(today = '2030-03-01') {
  return { store: new InMemoryInventoryStore(), clock: { today: () => today } };
}

describe('rooms', () => {
  it('creates a room with its nights on sale from today for open_days, every unit free', async () => {
    const deps = setup('2030-03-01');
    const room = await createRoom(deps, { name: 'Suite', type: 'suite', total_quantity: 2, open_days: 3 });
    expect(room).toEqual({ id: 1, name: 'Suite', type: 'suite', total_quantity: 2 });
    expect(await getAvailability(deps, { room_id: room.id, from: '2030-02-28', to: '2030-03-05' })).toEqual([
      { date: '2030-02-28', total: 0, available: 0 },
      { date: '2030-03-01', total: 2, available: 2 },
      { date: '2030-03-02', total: 2, available: 2 },
      { date: '2030-03-03', total: 2, available: 2 },
      { date: '2030-03-04', total: 0, available: 0 },
    ]);
  });

  it('answers ROOM_NOT_FOUND for a room that does not exist, on a read and on availability', async () => {
    const deps = setup();
    await expect(getRoom(deps, 42)).rejects.toMatchObject({ code: 'ROOM_NOT_FOUND', kind: 'not_found' });
    await expect(getAvailability(deps, { room_id: 42, from: '2030-03-01', to: '2030-03-02' })).rejects.toMatchObject({
      code: 'ROOM_NOT_FOUND',
    });
  });

  it('lists rooms by id, a page at a time', async () => {
    const deps = setup();
    for (const name of ['a', 'b', 'c']) await createRoom(deps, { name, type: 't', total_quantity: 1, open_days: 1 });
    const first = await listRooms(deps, { limit: 2 });
    expect(first.items.map((room) => room.name)).toEqual(['a', 'b']);
    const second = await listRooms(deps, { limit: 2, cursor: first.next! });
    expect(second).toEqual({ items: [expect.objectContaining({ name: 'c' })] });
  });
});
