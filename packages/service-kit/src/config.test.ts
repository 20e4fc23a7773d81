import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, env, parseConfig } from './config.js';

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
