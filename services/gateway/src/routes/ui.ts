import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { SignJWT } from 'jose';
import { z } from 'zod';
import { Role, StudentId } from '@cupo/contracts';
import type { TokenPolicy } from '../http/auth.js';
import { parseInput } from '../http/validate.js';

const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

const DevSignIn = z.strictObject({ sub: StudentId, role: Role });

/** A working day; shorter when the gateway caps tokens' lifetime lower. */
const DEV_TOKEN_SECONDS = 8 * 3600;

/**
 * The web UI (plain ES modules from public/, nothing from a CDN) and, only when
 * DEV_LOGIN_ENABLED is set, a development sign-in that issues a token for any user and
 * role. It is off by default and refused by the config in production.
 */
export function uiRoutes(options: { tokens: TokenPolicy; devLogin: boolean }): Router {
  const router = Router();
  router.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: '5m' }));
  if (options.devLogin) {
    const { secret, issuer, audience, maxLifetimeSeconds } = options.tokens;
    const key = new TextEncoder().encode(secret);
    router.post('/api/dev/token', async (req, res) => {
      const body = parseInput(DevSignIn, req.body);
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({ role: body.role })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(body.sub)
        .setIssuedAt(now)
        .setExpirationTime(now + Math.min(DEV_TOKEN_SECONDS, maxLifetimeSeconds));
      if (issuer !== undefined) jwt.setIssuer(issuer);
      if (audience !== undefined) jwt.setAudience(audience);
      const token = await jwt.sign(key);
      res.json({ token, sub: body.sub, role: body.role });
    });
  }
  return router;
}
