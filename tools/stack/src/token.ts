import { SignJWT } from 'jose';

/**
 * Signs a development token the gateway accepts: HS256 with the shared secret, always with
 * `exp` (2 h, or less when JWT_MAX_LIFETIME_SECONDS caps lower), and `iss` / `aud` when
 * JWT_ISSUER / JWT_AUDIENCE are set — read from the same environment the gateway reads.
 */
export async function signToken(options: {
  sub: string;
  role: 'guest' | 'student' | 'admin';
  secret?: string;
  /** Seconds from now. */
  lifetimeSeconds?: number;
  env?: NodeJS.ProcessEnv;
}): Promise<string> {
  const env = options.env ?? process.env;
  const cap = Number(env.JWT_MAX_LIFETIME_SECONDS) > 0 ? Number(env.JWT_MAX_LIFETIME_SECONDS) : Infinity;
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ role: options.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.min(options.lifetimeSeconds ?? 7_200, cap));
  if (env.JWT_ISSUER?.trim()) jwt.setIssuer(env.JWT_ISSUER.trim());
  if (env.JWT_AUDIENCE?.trim()) jwt.setAudience(env.JWT_AUDIENCE.trim());
  return jwt.sign(new TextEncoder().encode(options.secret ?? env.JWT_SECRET ?? 'dev-secret-change-me'));
}
