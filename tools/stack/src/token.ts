import { SignJWT } from 'jose';

/** Signs a development token the gateway accepts (HS256 with the shared secret). */
export async function signToken(options: {
  sub: string;
  role: 'guest' | 'student' | 'admin';
  secret?: string;
  expiresIn?: string;
}): Promise<string> {
  return new SignJWT({ role: options.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.sub)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '2h')
    .sign(new TextEncoder().encode(options.secret ?? process.env.JWT_SECRET ?? 'dev-secret-change-me'));
}
