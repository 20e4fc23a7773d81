import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, env, parseConfig, refuseDevelopmentDefaults } from './config.js';
import { LOCAL_SERVERS, loadDatabaseConfig, serviceEnv } from './service-env.js';

describe('parseConfig', () => {
  const schema = z.object({ PORT: env.port(8080), URL: z.url(), FLAG: env.bool(false) });

  it('applies defaults and coerces strings', () => {
    expect(parseConfig(schema, { URL: 'http://x', FLAG: 'yes' })).toEqual({ PORT: 8080, URL: 'http://x', FLAG: true });
  });

  it('reports every problem at once', () => {
    try {
      parseConfig(schema, { PORT: 'eighty', FLAG: 'maybe' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => p.split(':')[0])).toEqual(['PORT', 'URL', 'FLAG']);
    }
  });
});

describe('refuseDevelopmentDefaults', () => {
  const DEV = { SECRET: 'dev-secret', URL: 'http://127.0.0.1:1' } as const;
  const schema = z
    .object({ NODE_ENV: env.nodeEnv(), SECRET: z.string().default(DEV.SECRET), URL: z.url().default(DEV.URL), PORT: env.port(1) })
    .superRefine(refuseDevelopmentDefaults(DEV));

  it('lets development run on the defaults', () => {
    expect(parseConfig(schema, {})).toEqual({ NODE_ENV: 'development', SECRET: 'dev-secret', URL: 'http://127.0.0.1:1', PORT: 1 });
  });

  it('refuses in production every setting left out or set to its development default, all at once', () => {
    try {
      parseConfig(schema, { NODE_ENV: 'production', URL: DEV.URL });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'SECRET: is missing or the development default, which NODE_ENV=production refuses: set the real value',
        'URL: is missing or the development default, which NODE_ENV=production refuses: set the real value',
      ]);
    }
  });

  it('accepts production with real values', () => {
    expect(parseConfig(schema, { NODE_ENV: 'production', SECRET: 's3cr3t', URL: 'https://example.org' }).SECRET).toBe('s3cr3t');
  });
});

describe('serviceEnv', () => {
  const schema = z
    .object({
      ...serviceEnv.base(),
      ...serviceEnv.postgres(LOCAL_SERVERS.databaseUrl('cupo_x'), 4),
      ...serviceEnv.amqp(LOCAL_SERVERS.AMQP_URL),
      ...serviceEnv.jobs(),
      ...serviceEnv.outbox(),
    })
    .superRefine(refuseDevelopmentDefaults({ DATABASE_URL: LOCAL_SERVERS.databaseUrl('cupo_x'), AMQP_URL: LOCAL_SERVERS.AMQP_URL }));

  it('gives every service the same settings under the same names, with the same defaults', () => {
    expect(parseConfig(schema, {})).toEqual({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: 20_000,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/cupo_x',
      PG_POOL_MAX: 4,
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      JOB_MAX_ATTEMPTS: 5,
      JOB_DELIVERY_LIMIT: 10,
      JOB_RETRY_INITIAL_MS: 200,
      JOB_RETRY_MAX_MS: 5_000,
      OUTBOX_BATCH_SIZE: 200,
      OUTBOX_POLL_MS: 500,
    });
  });

  it('refuses the local servers in production', () => {
    expect(() => parseConfig(schema, { NODE_ENV: 'production' })).toThrow(
      /DATABASE_URL: is missing or the development default[^]*AMQP_URL/,
    );
  });
});

describe('loadDatabaseConfig (a migration or seed step)', () => {
  const DEV_DB = LOCAL_SERVERS.databaseUrl('cupo_x');

  it('reads the database alone: production with only DATABASE_URL set starts, whatever the service’s other settings', () => {
    expect(loadDatabaseConfig(DEV_DB, { NODE_ENV: 'production', DATABASE_URL: 'postgres://db.internal:5432/cupo_x' })).toEqual({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db.internal:5432/cupo_x',
    });
  });

  it('refuses the development database in production', () => {
    expect(() => loadDatabaseConfig(DEV_DB, { NODE_ENV: 'production' })).toThrow(/DATABASE_URL: is missing or the development default/);
    expect(loadDatabaseConfig(DEV_DB, {}).DATABASE_URL).toBe(DEV_DB);
  });
});
