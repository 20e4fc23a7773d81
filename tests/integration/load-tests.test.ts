import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, pathWithout, removeTempDirs, ROOT, runIn, tempDir, writeCommand } from './commands.js';

/**
 * What can be checked without k6 (tests/system/k6.test.ts runs the scripts with a real one when
 * there is one): the scripts parse as ES modules, import only k6's own modules or files that
 * exist, each declares its options, the JWTs they sign are ones the gateway accepts; and `make
 * load` finds k6, says so when there is none, and hands it what the scripts and the streaming
 * to Prometheus need.
 */
afterAll(removeTempDirs);
const DIR = fileURLToPath(new URL('../../load-tests/', import.meta.url));
const K6_MODULES = new Set(['k6', 'k6/http', 'k6/crypto', 'k6/encoding', 'k6/metrics', 'k6/execution', 'k6/data']);
const scripts = readdirSync(DIR).filter((f) => f.endsWith('.js'));

describe('the k6 scripts', () => {
  it('are all there', () => {
    expect(scripts.sort()).toEqual(['booking-burst.js', 'enrollment-burst.js', 'mixed.js', 'smoke.js', 'soak.js']);
  });

  for (const file of [...scripts, ...readdirSync(join(DIR, 'lib')).map((f) => `lib/${f}`)]) {
    it(`${file} parses and imports only k6 modules or files that exist`, () => {
      const source = readFileSync(join(DIR, file), 'utf8');
      execFileSync(process.execPath, ['--input-type=module', '--check'], { input: source });
      for (const [, specifier] of source.matchAll(/^import .* from '([^']+)';$/gm)) {
        if (specifier!.startsWith('.')) expect(existsSync(resolve(dirname(join(DIR, file)), specifier!)), specifier).toBe(true);
        else expect(K6_MODULES.has(specifier!), specifier).toBe(true);
      }
      if (!file.startsWith('lib/')) {
        expect(source).toMatch(/export const options = \{/);
        expect(source).toMatch(/thresholds: \{/);
      }
    });
  }

  it('sign JWTs the gateway accepts (the same HS256 steps, done here with node:crypto)', async () => {
    // lib/cupo.js: base64url(header).base64url(payload), HMAC-SHA256 in base64 raw-url.
    const secret = 'dev-secret-change-me';
    const b64 = (value: string) => Buffer.from(value).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const signingInput = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(JSON.stringify({ sub: 'RA0001', role: 'student', iat: now, exp: now + 60 }))}`;
    const jwt = `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
    const { payload } = await jwtVerify(jwt, new TextEncoder().encode(secret), { algorithms: ['HS256'] });
    expect(payload).toMatchObject({ sub: 'RA0001', role: 'student' });
    const lib = readFileSync(join(DIR, 'lib/cupo.js'), 'utf8');
    expect(lib).toContain("crypto.hmac('sha256', JWT_SECRET, `${header}.${payload}`, 'base64rawurl')");
    expect(lib).toContain("encoding.b64encode(value, 'rawurl')");
    // The gateway refuses a token without exp, and checks iss / aud when it is configured to.
    expect(lib).toContain('const claims = { sub, role, iat: now, exp: now + ttlSeconds };');
    // Never longer than the gateway's JWT_MAX_LIFETIME_SECONDS, when that is given.
    expect(lib).toContain('const ttlSeconds = Math.min(lifetimeSeconds, JWT_MAX_LIFETIME);');
    expect(lib).toContain('if (JWT_ISSUER) claims.iss = JWT_ISSUER;');
    expect(lib).toContain('if (JWT_AUDIENCE) claims.aud = JWT_AUDIENCE;');
  });
});

describe('make load', () => {
  // make's own variables stay out of it (an enclosing `make test`'s MAKEFLAGS would leak in).
  const env = () => ({ ...cleanEnv(), PATH: pathWithout(['k6']) });

  it('says how to get k6 when the one named is not there, and runs nothing', async () => {
    // (With nothing named it would take the team's copy, ../shared/bin/k6, where there is one.)
    const ran = await runIn('make', ['-s', '--no-print-directory', 'load'], { ...env(), K6: '/nonexistent/k6' });
    expect(ran.status).not.toBe(0);
    expect(ran.stderr.split('\n')).toContain(
      'k6: K6=/nonexistent/k6 is not an executable file: install k6 (https://grafana.com/docs/k6/latest/set-up/install-k6/) or run `K6=/path/to/k6 make load`',
    );
  });

  it('runs each script with the gateway’s settings in k6’s environment, streaming to PROMETHEUS_URL when given', async () => {
    // A stand-in k6 that records its arguments and what the scripts would read from __ENV.
    const dir = tempDir('k6');
    const log = join(dir, 'calls.log');
    const k6 = writeCommand(
      dir,
      'k6',
      `echo "$* | BASE_URL=$BASE_URL JWT_SECRET=$JWT_SECRET JWT_ISSUER=$JWT_ISSUER RW=$K6_PROMETHEUS_RW_SERVER_URL NATIVE=$K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM TAGS=$K6_SYSTEM_TAGS" >> '${log}'`,
    );
    const ran = await runIn(
      'make',
      [
        '-s',
        '--no-print-directory',
        'load',
        'SCRIPTS=smoke booking-burst',
        'BASE_URL=http://127.0.0.1:9',
        'PROMETHEUS_URL=http://127.0.0.1:9090',
      ],
      {
        ...env(),
        K6: k6,
        JWT_SECRET: 'a-secret-of-the-deployment',
        JWT_ISSUER: 'https://issuer.example',
      },
    );
    expect(ran.status, ran.stderr).toBe(0);
    expect(ran.stderr).toContain(`k6: ${k6}; against http://127.0.0.1:9`);
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    expect(calls).toHaveLength(2);
    for (const [i, script] of ['smoke', 'booking-burst'].entries()) {
      const [args, seen] = calls[i]!.split(' | ');
      expect(args).toMatch(
        new RegExp(`^run --quiet --out experimental-prometheus-rw --tag testid=${script}-\\d{8}T\\d{6} ${ROOT}load-tests/${script}\\.js$`),
      );
      expect(seen).toContain('BASE_URL=http://127.0.0.1:9 JWT_SECRET=a-secret-of-the-deployment JWT_ISSUER=https://issuer.example');
      expect(seen).toContain('RW=http://127.0.0.1:9090/api/v1/write NATIVE=true');
      // URLs carry ids: never a label.
      expect(seen).toMatch(/TAGS=\S*name\S*$/);
      expect(seen).not.toMatch(/TAGS=\S*\burl\b/);
    }
    // The secret is in k6's environment, never on its command line (where ps shows it).
    expect(calls.join('\n')).not.toMatch(/^[^|]*a-secret-of-the-deployment/m);
  });
});
