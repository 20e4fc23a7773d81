import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { SignJWT } from 'jose';
import { z } from 'zod';
import { Role, StudentId } from '@cupo/contracts';
import { parseInput } from '../http/validate.js';

const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

const DevSignIn = z.strictObject({ sub: StudentId, role: Role });

/**
 * The web UI (plain ES modules from public/, nothing from a CDN) and, only when
 * DEV_LOGIN_ENABLED is set, a development sign-in that issues a token for any user and
 * role. It is off by default and refused by the config in production.
 */
export function uiRoutes(options: { jwtSecret: string; devLogin: boolean }): Router {
  const router = Router();
  router.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: '5m' }));
  if (options.devLogin) {
    const key = new TextEncoder().encode(options.jwtSecret);
    router.post('/api/dev/token', async (req, res) => {
      const body = parseInput(DevSignIn, req.body);
      const token = await new SignJWT({ role: body.role })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(body.sub)
        .setIssuedAt()
        .setExpirationTime('8h')
        .sign(key);
      res.json({ token, sub: body.sub, role: body.role });
    });
  }
  return router;
}
