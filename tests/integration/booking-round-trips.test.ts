import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { connectAmqp, RpcClient, type AmqpConnectionManager } from '@cupo/amqp';
import { addDays, ConfirmBooking, todayUtc } from '@cupo/contracts';
import { createPool, type Sql } from '@cupo/database';
import { amqpUrlFor, createVhost, defaultUrls, deleteVhost } from '@cupo/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBookingService } from '../../services/booking/src/app.js';
import { loadConfig as bookingConfig } from '../../services/booking/src/config.js';
import { createInventoryService } from '../../services/inventory/src/app.js';
import { loadConfig as inventoryConfig } from '../../services/inventory/src/config.js';
import { PostgresInventoryStore } from '../../services/inventory/src/adapters/postgres/inventory-store.js';
import { migratedDatabase } from './database.js';

/**
 * What one booking costs PostgreSQL, per service: booking and inventory wired as in
 * production (their real stores, RabbitMQ RPC on a vhost of this file's own, Redis locks under
 * a key prefix of its own), each with a pool that counts the statements it sends. Counted
 * after a warm-up, when every statement is prepared and each is one round trip.
 *
 * Budget: booking ≤ 2 (insert-or-read the row, confirm it — it was 3: read, insert, confirm),
 * inventory ≤ 1 (the single guarded reserve statement).
 */
const BOOKING_BUDGET = 2;
const INVENTORY_BUDGET = 1;

const logger = pino({ level: 'silent' });
const { amqpUrl, redisUrl } = defaultUrls();
const vhost = `cupo-it-round-trips-${randomUUID()}`;
const counted = { booking: [] as string[], inventory: [] as string[] };

let bookingDb: Awaited<ReturnType<typeof migratedDatabase>>;
let inventoryDb: Awaited<ReturnType<typeof migratedDatabase>>;
let bookingSql: Sql;
let inventorySql: Sql;
let amqp: AmqpConnectionManager;
let redis: Redis;
let client: RpcClient;
let serviceRpc: RpcClient;
let stop: () => Promise<void>;
const prefix = `cupo:it:${randomUUID()}:`;
let roomId: number;

beforeAll(async () => {
  [bookingDb, inventoryDb] = await Promise.all([migratedDatabase('booking', 2), migratedDatabase('inventory', 2)]);
  bookingSql = createPool({ url: bookingDb.url, max: 4, applicationName: 'round-trips', onQuery: (q) => void counted.booking.push(q) });
  inventorySql = createPool({
    url: inventoryDb.url,
    max: 4,
    applicationName: 'round-trips',
    onQuery: (q) => void counted.inventory.push(q),
  });
  await createVhost(amqpUrl, vhost);
  amqp = connectAmqp({ url: amqpUrlFor(amqpUrl, vhost), name: 'round-trips', logger });
  redis = new Redis(redisUrl);
  const inventory = createInventoryService({
    sql: inventorySql,
    amqp,
    registry: new Registry(),
    logger,
    config: { ...inventoryConfig({}), RPC_PREFETCH: 16 },
    instance: 'inventory-test',
  });
  serviceRpc = new RpcClient(amqp, { defaultTimeoutMs: 5_000, logger, registry: new Registry() });
  const config = { ...bookingConfig({}), REDIS_KEY_PREFIX: prefix };
  const booking = createBookingService({
    sql: bookingSql,
    redis,
    rpc: serviceRpc,
    amqp,
    registry: new Registry(),
    logger,
    config,
    instance: 'booking-test',
  });
  client = new RpcClient(amqp, { defaultTimeoutMs: 10_000, logger, registry: new Registry() });
  await Promise.all([serviceRpc.ready(), client.ready()]);
  await inventory.rpc.start();
  await booking.rpc.start();
  stop = async () => {
    await Promise.all([booking.rpc.stop(1_000), inventory.rpc.stop(1_000)]);
  };
  // The room, made through an uncounted pool: 40 units, 60 nights from today.
  const room = await new PostgresInventoryStore(inventoryDb.sql).createRoom({ name: 'r', type: 't', total_quantity: 40 }, todayUtc(), 60);
  roomId = room.id;
});

afterAll(async () => {
  await stop?.();
  await client?.close();
  await serviceRpc?.close();
  await amqp?.close();
  await deleteVhost(amqpUrl, vhost).catch(() => undefined);
  const keys = (await redis?.keys(`${prefix}*`)) ?? [];
  if (keys.length) await redis.del(...keys);
  await redis?.quit();
  await bookingSql?.end({ timeout: 5 });
  await inventorySql?.end({ timeout: 5 });
  await bookingDb?.drop();
  await inventoryDb?.drop();
});

const book = (i: number) => {
  const checkIn = addDays(todayUtc(), 1 + (i % 20));
  return client.call(
    ConfirmBooking,
    {
      booking_id: randomUUID(),
      attempt_id: randomUUID(),
      user_id: `u${i}`,
      room_id: roomId,
      check_in: checkIn,
      check_out: addDays(checkIn, 2),
    },
    { requestId: randomUUID() },
  );
};

describe('PostgreSQL round trips per booking', () => {
  it(`stay within the budget: booking ≤ ${BOOKING_BUDGET}, inventory ≤ ${INVENTORY_BUDGET}`, async () => {
    for (let i = 0; i < 3; i += 1) await book(i); // warm-up: every statement prepared on its connection
    counted.booking.length = 0;
    counted.inventory.length = 0;
    const bookings = 20;
    for (let i = 0; i < bookings; i += 1) await expect(book(100 + i)).resolves.toMatchObject({ status: 'confirmed' });
    const perBooking = { booking: counted.booking.length / bookings, inventory: counted.inventory.length / bookings };
    console.log(`round trips per booking: ${JSON.stringify(perBooking)}`);
    expect(perBooking.booking).toBeLessThanOrEqual(BOOKING_BUDGET);
    expect(perBooking.inventory).toBeLessThanOrEqual(INVENTORY_BUDGET);
  });
});
