import { todayUtc } from '@cupo/contracts';
import { createPool } from '@cupo/database';
import { loadDatabaseConfig } from '@cupo/service-kit';
import { DEVELOPMENT_DEFAULTS } from './config.js';
import { openNights } from './adapters/postgres/inventory-store.js';

/**
 * `node dist/seed.js`: the contract's seed rooms, safe to run again. Room 1 has a single
 * unit, which is what the concurrent-booking experiment fights over.
 */
const SEED_ROOMS = [
  { id: 1, name: 'Single 101', type: 'single', total_quantity: 1 },
  { id: 2, name: 'Double 201', type: 'double', total_quantity: 5 },
  { id: 3, name: 'Suite 301', type: 'suite', total_quantity: 2 },
  { id: 4, name: 'Family 401', type: 'family', total_quantity: 3 },
];
const SEED_OPEN_DAYS = 30;

const config = loadDatabaseConfig(DEVELOPMENT_DEFAULTS.DATABASE_URL);
const sql = createPool({ url: config.DATABASE_URL, max: 1, applicationName: 'cupo-inventory-seed' });
try {
  await sql.begin(async (tx) => {
    for (const room of SEED_ROOMS) {
      await tx`
        INSERT INTO rooms (id, name, type, total_quantity)
        VALUES (${room.id}, ${room.name}, ${room.type}, ${room.total_quantity})
        ON CONFLICT (id) DO NOTHING`;
      await openNights(tx, room.id, room.total_quantity, todayUtc(), SEED_OPEN_DAYS);
    }
    // Explicit ids do not advance the identity sequence; move it past them.
    await tx`SELECT setval(pg_get_serial_sequence('rooms', 'id'), (SELECT max(id) FROM rooms))`;
  });
  console.log(JSON.stringify({ service: 'inventory', msg: 'seeded', rooms: SEED_ROOMS.length }));
} finally {
  await sql.end({ timeout: 5 });
}
