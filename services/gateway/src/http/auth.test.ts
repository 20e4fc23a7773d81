import type { AddressInfo } from 'node:net';
import express from 'express';
import { SignJWT } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorOf, authenticate, type TokenPolicy } from './auth.js';
import { problemHandler } from './problem.js';

const SECRET = 'a-test-secret-of-enough-length';
const policy: TokenPolicy = { secret: SECRET, maxLifetimeSeconds: 3_600, issuer: 'https://auth.cupo.test', audience: 'cupo-api' };

let baseUrl: string;
let close: () => void;

beforeAll(async () => {
  const app = express();
  app.get('/who', authenticate(policy), (req, res) => {
    res.json(actorOf(req));
  });
  app.use(problemHandler(pino({ level: 'silent' })));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => server.close();
});
afterAll(() => close());

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token with exactly the claims given, signed HS256 (or with another secret). */
function sign(claims: Record<string, unknown>, secret = SECRET, alg = 'HS256'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

const good = () => ({ sub: 'guest-1', role: 'guest', iat: now(), exp: now() + 600, iss: policy.issuer, aud: policy.audience });

async function who(token: string): Promise<{ status: number; body: { detail?: string } }> {
  const response = await fetch(`${baseUrl}/who`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

describe('bearer tokens', () => {
  it('accepts an HS256 token with exp, within the lifetime cap, from the configured issuer for this audience', async () => {
    expect(await who(await sign(good()))).toEqual({ status: 200, body: { id: 'guest-1', role: 'guest' } });
    expect((await who(await sign({ ...good(), aud: ['other-api', 'cupo-api'] }))).status).toBe(200);
  });

  it('refuses a token without exp, however valid otherwise', async () => {
    const { exp: _exp, ...claims } = good();
    const answer = await who(await sign(claims));
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ code: 'UNAUTHORIZED', detail: expect.stringMatching(/exp/) });
  });

  it('refuses a token that lives longer than the cap, by exp − iat and by exp − now', async () => {
    expect((await who(await sign({ ...good(), exp: now() + 3_601 }))).status).toBe(401);
    const { iat: _iat, ...withoutIat } = good();
    expect((await who(await sign({ ...withoutIat, exp: now() + 10 * 365 * 86_400 }))).status).toBe(401);
    // Backdating iat does not stretch the cap.
    expect((await who(await sign({ ...good(), iat: now() - 3_000, exp: now() + 1_000 }))).status).toBe(401);
  });

  it('refuses an expired token', async () => {
    expect((await who(await sign({ ...good(), iat: now() - 120, exp: now() - 60 }))).body.detail).toMatch(/expired/);
  });

  it('refuses a wrong or missing issuer and a wrong or missing audience', async () => {
    for (const claims of [
      { ...good(), iss: 'https://evil.test' },
      { ...good(), iss: undefined },
      { ...good(), aud: 'another-api' },
      { ...good(), aud: undefined },
    ]) {
      const answer = await who(await sign(JSON.parse(JSON.stringify(claims))));
      expect(answer.status, JSON.stringify(claims)).toBe(401);
    }
  });

  it('refuses alg none, another HMAC algorithm and a token signed with another secret', async () => {
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(good())}.`;
    expect((await who(unsigned)).status).toBe(401);
    expect((await who(await sign(good(), SECRET, 'HS512'))).status).toBe(401);
    expect((await who(await sign(good(), 'another-secret-of-enough-length'))).status).toBe(401);
  });

  it('refuses a sub with a control character or beyond 128 characters', async () => {
    expect((await who(await sign({ ...good(), sub: 'a\u0000b' }))).status).toBe(401);
    expect((await who(await sign({ ...good(), sub: 'u'.repeat(129) }))).status).toBe(401);
  });
});
