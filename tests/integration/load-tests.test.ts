import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';

/**
 * k6 does not run on this machine, so the scripts are checked for what can be checked
 * without it: they parse as ES modules, import only k6's own modules or files that exist,
 * each declares its options, and the JWTs they sign are ones the gateway accepts.
 */
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
    expect(lib).toContain('if (JWT_ISSUER) claims.iss = JWT_ISSUER;');
    expect(lib).toContain('if (JWT_AUDIENCE) claims.aud = JWT_AUDIENCE;');
  });
});
