import { fileURLToPath } from 'node:url';
import { migrate } from '@cupo/database';
import { loadConfig } from './config.js';

/** `node dist/migrate.js`: applies worker's migrations (the chart runs it as a Job). */
const config = loadConfig();
const applied = await migrate({
  databaseUrl: config.DATABASE_URL,
  dir: fileURLToPath(new URL('../migrations', import.meta.url)),
});
console.log(JSON.stringify({ service: 'worker', msg: 'migrated', applied }));
