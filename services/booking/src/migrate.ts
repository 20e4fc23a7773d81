import { fileURLToPath } from 'node:url';
import { migrate } from '@cupo/database';
import { loadDatabaseConfig } from '@cupo/service-kit';
import { DEVELOPMENT_DEFAULTS } from './config.js';

/** `node dist/migrate.js`: applies booking's migrations (the chart runs it as a Job). */
const config = loadDatabaseConfig(DEVELOPMENT_DEFAULTS.DATABASE_URL);
const applied = await migrate({
  databaseUrl: config.DATABASE_URL,
  dir: fileURLToPath(new URL('../migrations', import.meta.url)),
});
console.log(JSON.stringify({ service: 'booking', msg: 'migrated', applied }));
