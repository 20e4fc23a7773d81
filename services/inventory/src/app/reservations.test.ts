import { describe, expect, it } from 'vitest';
import { findHeldAmong, listHeldReservations, releaseNights, reserveNights } from './reservations.js';
import { createRoom, getAvailability } from './rooms.js';
import { InMemoryInventoryStore } from './testing/in-memory.js';

const NIGHTS = ['2030-03-01', '2030-03-02'];

async function setup(units = 1) {
  const deps = { store: new InMemoryInventoryStore(), clock: { today: () => '2030-03-01' } };
  const room = await createRoom(deps, { name: 'r', type: 't', total_quantity: units, open_days: 3 });
  const available = async () =>
    (await getAvailability(deps, { room_id: room.id, from: '2030-03-01', to: '2030-03-03' })).map((night) => night.available);
  return { deps, room, available };
}
const command = (booking_id: string, room_id: number, attempt = 1) => ({ booking_id, attempt, room_id, nights: NIGHTS });

describe('reserving and releasing nights', () => {
  it('reserves every night for a booking attempt and answers which booking and that it is reserved', async () => {
    const { deps, room, available } = await setup(2);
    await expect(reserveNights(deps, command('b1', room.id))).resolves.toEqual({ booking_id: 'b1', status: 'reserved' });
    expect(await available()).toEqual([1, 1]);
  });

  it('answers a redelivered reserve `reserved` again without taking more', async () => {
    const { deps, room, available } = await setup(2);
    await reserveNights(deps, command('b1', room.id));
    await expect(reserveNights(deps, command('b1', room.id))).resolves.toEqual({ booking_id: 'b1', status: 'reserved' });
    expect(await available()).toEqual([1, 1]);
  });

  it('refuses a stay with a sold-out night (ROOM_UNAVAILABLE naming it) and takes none of the others', async () => {
    const { deps, room, available } = await setup(1);
    await reserveNights(deps, { booking_id: 'b1', attempt: 1, room_id: room.id, nights: [NIGHTS[1]!] });
    await expect(reserveNights(deps, command('b2', room.id))).rejects.toMatchObject({
      code: 'ROOM_UNAVAILABLE',
      details: { nights: [NIGHTS[1]] },
    });
    expect(await available()).toEqual([1, 0]);
  });

  it('refuses an unknown room with ROOM_NOT_FOUND', async () => {
    const { deps } = await setup();
    await expect(reserveNights(deps, command('b1', 99))).rejects.toMatchObject({ code: 'ROOM_NOT_FOUND' });
  });

  it('gives nights back once however often the release comes, and refuses a late reserve of that attempt', async () => {
    const { deps, room, available } = await setup(1);
    await reserveNights(deps, command('b1', room.id));
    for (let i = 0; i < 3; i += 1) {
      await expect(releaseNights(deps, command('b1', room.id))).resolves.toEqual({ booking_id: 'b1', status: 'released' });
    }
    expect(await available()).toEqual([1, 1]);
    await expect(reserveNights(deps, command('b1', room.id))).rejects.toMatchObject({ code: 'RESERVATION_RELEASED' });
    // A later attempt of the same booking is a reservation of its own.
    await expect(reserveNights(deps, command('b1', room.id, 2))).resolves.toMatchObject({ status: 'reserved' });
    expect(await available()).toEqual([0, 0]);
  });

  it('a release that comes first leaves a tombstone: the reserve in flight behind it takes nothing', async () => {
    const { deps, room, available } = await setup(1);
    await releaseNights(deps, command('b1', room.id));
    await expect(reserveNights(deps, command('b1', room.id))).rejects.toMatchObject({ code: 'RESERVATION_RELEASED' });
    expect(await available()).toEqual([1, 1]);
  });
});

describe('the reconciler’s reads', () => {
  it('lists the reservations holding nights a page at a time, and finds which of some attempts hold nights', async () => {
    const { deps, room } = await setup(5);
    for (const id of ['b1', 'b2', 'b3']) await reserveNights(deps, command(id, room.id));
    await releaseNights(deps, command('b2', room.id));
    const first = await listHeldReservations(deps, { older_than_ms: 0, limit: 1 });
    const rest = await listHeldReservations(deps, { after: first[0], older_than_ms: 0, limit: 10 });
    expect([...first, ...rest].map((r) => r.booking_id).sort()).toEqual(['b1', 'b3']);
    expect(
      await findHeldAmong(deps, [
        { booking_id: 'b1', attempt: 1 },
        { booking_id: 'b2', attempt: 1 },
        { booking_id: 'b1', attempt: 2 },
      ]),
    ).toEqual([{ booking_id: 'b1', attempt: 1 }]);
  });

  it('answers an empty question without asking the store', async () => {
    const { deps } = await setup();
    deps.store.calls.length = 0;
    expect(await findHeldAmong(deps, [])).toEqual([]);
    expect(deps.store.calls).toEqual([]);
  });
});
