import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, env, parseConfig, refuseDevelopmentDefaults } from './config.js';

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
