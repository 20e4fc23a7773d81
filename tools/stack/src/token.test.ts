import { decodeJwt, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { signToken } from './token.js';

describe('development tokens (make token, make run, the tests, the benchmarks)', () => {
  it('always carry exp, within the cap the gateway is given', async () => {
    const plain = decodeJwt(await signToken({ sub: 'guest-1', role: 'guest', env: {} }));
    expect(plain.exp! - plain.iat!).toBe(7_200);
    const capped = decodeJwt(await signToken({ sub: 'guest-1', role: 'guest', env: { JWT_MAX_LIFETIME_SECONDS: '600' } }));
    expect(capped.exp! - capped.iat!).toBe(600);
  });

  it('name the issuer and audience the gateway checks, when it checks them', async () => {
    const env = { JWT_SECRET: 'a-secret-of-enough-length', JWT_ISSUER: 'https://auth.cupo.test', JWT_AUDIENCE: 'cupo-api' };
    const token = await signToken({ sub: 'RA0001', role: 'student', env });
    const { payload } = await jwtVerify(token, new TextEncoder().encode(env.JWT_SECRET), {
      algorithms: ['HS256'],
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      requiredClaims: ['exp'],
    });
    expect(payload).toMatchObject({ sub: 'RA0001', role: 'student' });
    expect(decodeJwt(await signToken({ sub: 'g', role: 'guest', env: {} }))).not.toHaveProperty('iss');
  });
});
