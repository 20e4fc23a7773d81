import { describe, expect, it } from 'vitest';
import { ConfigError } from '@cupo/service-kit';
import { DEVELOPMENT_DEFAULTS, loadConfig } from './config.js';

const REAL = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://worker:pw@db.example.internal:5432/cupo_worker',
  AMQP_URL: 'amqps://worker:pw@mq.example.internal:5671/cupo',
  REDIS_URL: 'rediss://:pw@redis.example.internal:6380',
  SIS_URL: 'https://sis.example.edu',
  GRAPH_URL: 'https://graph.microsoft.com',
  GRAPH_LOGIN_URL: 'https://login.microsoftonline.com',
  GRAPH_CLIENT_SECRET: 'the-app-registration-secret',
  MOODLE_URL: 'https://lms.example.edu',
  MOODLE_TOKEN: 'the-moodle-token',
  SMTP_URL: 'smtps://mailer:pw@smtp.example.edu:465',
};

const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => p.split(':')[0]!);
  }
};

describe('worker configuration', () => {
  it('runs on the local servers and the providers’ stand-ins in development', () => {
    const config = loadConfig({});
    expect(config.GRAPH_CLIENT_SECRET).toBe('dev-graph-secret');
    expect(config.SMTP_URL).toBe('smtp://127.0.0.1:2525');
  });

  it('refuses to start in production with any provider secret or server left to its development default', () => {
    // The chart's old behaviour: an existingSecret without these keys left the worker on the
    // stand-ins' secret and a local SMTP, silently.
    expect(problemsOf({ NODE_ENV: 'production' }).sort()).toEqual(Object.keys(DEVELOPMENT_DEFAULTS).sort());
    const { GRAPH_CLIENT_SECRET: _, MOODLE_TOKEN: __, SMTP_URL: ___, ...withoutProviderSecrets } = REAL;
    expect(problemsOf(withoutProviderSecrets)).toEqual(['GRAPH_CLIENT_SECRET', 'MOODLE_TOKEN', 'SMTP_URL']);
  });

  it('refuses a development value given explicitly in production, and says which', () => {
    expect(problemsOf({ ...REAL, MOODLE_TOKEN: 'dev-moodle-token' })).toEqual(['MOODLE_TOKEN']);
    expect(() => loadConfig({ ...REAL, GRAPH_CLIENT_SECRET: 'dev-graph-secret' })).toThrow(
      /GRAPH_CLIENT_SECRET: is missing or the development default, which NODE_ENV=production refuses/,
    );
  });

  it('refuses an empty secret (what an empty key of a Secret gives)', () => {
    expect(problemsOf({ ...REAL, SMTP_URL: '' })).toEqual(['SMTP_URL']);
  });

  it('starts in production with real values', () => {
    expect(loadConfig(REAL).MOODLE_TOKEN).toBe('the-moodle-token');
  });
});
