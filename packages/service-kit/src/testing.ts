import { describe, expect, it } from 'vitest';

/** A config as the checks below read it (serviceEnv.backend()'s). */
interface BackendConfig {
  NODE_ENV: string;
  DATABASE_URL: string;
}

/**
 * The checks every backend service's config passes, for its config.test.ts (the test-only entry
 * `@cupo/service-kit/testing`): development runs on the local servers; production refuses each
 * server left to its development default, naming each; production starts with real servers.
 */
export function describeBackendConfig(
  service: string,
  loadConfig: (environment: NodeJS.ProcessEnv) => BackendConfig,
  developmentDefaults: Readonly<Record<string, unknown>>,
  more?: () => void,
): void {
  describe(`${service} configuration`, () => {
    it('runs on the local servers in development', () => {
      expect(loadConfig({}).DATABASE_URL).toBe(developmentDefaults.DATABASE_URL);
    });

    it('refuses in production every server left to its development default, naming each', () => {
      expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
        new RegExp(
          Object.keys(developmentDefaults)
            .map((key) => `${key}: is missing or the development default`)
            .join('[^]*'),
        ),
      );
    });

    it('starts in production with real servers', () => {
      const real = {
        DATABASE_URL: `postgres://${service}:pw@db.internal:5432/cupo_${service}`,
        AMQP_URL: `amqps://${service}:pw@mq.internal/cupo`,
        REDIS_URL: 'rediss://:pw@redis.internal:6380',
      };
      expect(loadConfig({ NODE_ENV: 'production', ...real }).NODE_ENV).toBe('production');
    });

    more?.();
  });
}
