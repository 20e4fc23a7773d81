import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { jwtVerify, errors as joseErrors } from 'jose';
import { Actor, type Role } from '@cupo/contracts';
import { DomainError } from '@cupo/errors';
import { BoundedLru } from './bounded-lru.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `authenticate`. */
      actor?: Actor;
    }
  }
}

class UnauthorizedError extends DomainError {
  constructor(detail: string) {
    super('unauthorized', 'UNAUTHORIZED', detail);
  }
}

class RoleForbiddenError extends DomainError {
  constructor(roles: Role[]) {
    super('forbidden', 'FORBIDDEN', `This needs the role ${roles.join(' or ')}`);
  }
}

/** How many verified tokens the gateway remembers (each until its own `exp`, least recently used out first). */
export const VERIFIED_CACHE_SIZE = 10_000;

export interface TokenPolicy {
  /** The HS256 secret. */
  secret: string;
  /** The longest a token may live: both `exp − iat` and `exp − now` must be within it. */
  maxLifetimeSeconds: number;
  /** When set, `iss` must equal it. */
  issuer?: string | undefined;
  /** When set, `aud` must name it. */
  audience?: string | undefined;
}

/**
 * Verifies `Authorization: Bearer <JWT>` and puts `{id, role}` on the request. Only HS256
 * with our secret; `exp` is required and the lifetime capped, so no token works forever;
 * `iss` and `aud` are checked when configured.
 *
 * The HMAC key is imported once, and a token that verified is remembered (by its exact
 * string) until its own expiry: clients send the same token with every request, and
 * re-verifying it through WebCrypto was the gateway's largest single CPU cost. A forged or
 * altered token is a different string and always goes through full verification.
 */
export function authenticate(
  policy: TokenPolicy,
  verified = new BoundedLru<string, { actor: Actor; expiresAt: number }>(VERIFIED_CACHE_SIZE),
): RequestHandler {
  const key = crypto.subtle.importKey('raw', new TextEncoder().encode(policy.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new UnauthorizedError('Send a bearer token in the Authorization header');
    const tokenValue = match[1]!;
    const cached = verified.get(tokenValue);
    if (cached && cached.expiresAt > Date.now()) {
      req.actor = cached.actor;
      next();
      return;
    }
    if (cached) verified.delete(tokenValue);
    try {
      const { payload } = await jwtVerify(tokenValue, await key, {
        algorithms: ['HS256'],
        requiredClaims: ['exp'],
        ...(policy.issuer === undefined ? {} : { issuer: policy.issuer }),
        ...(policy.audience === undefined ? {} : { audience: policy.audience }),
      });
      const exp = payload.exp!;
      const now = Math.floor(Date.now() / 1000);
      if (exp - now > policy.maxLifetimeSeconds || (payload.iat !== undefined && exp - payload.iat > policy.maxLifetimeSeconds)) {
        throw new UnauthorizedError(`The token lives longer than the ${policy.maxLifetimeSeconds} s this API accepts`);
      }
      const actor = Actor.safeParse({ id: payload.sub, role: payload['role'] });
      if (!actor.success) throw new UnauthorizedError('The token lacks a valid sub or role claim');
      req.actor = actor.data;
      verified.set(tokenValue, { actor: actor.data, expiresAt: exp * 1000 });
    } catch (error) {
      if (error instanceof DomainError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new UnauthorizedError('The token has expired');
      if (error instanceof joseErrors.JWTClaimValidationFailed) {
        throw new UnauthorizedError(`The token's ${error.claim} claim is missing or not accepted here`);
      }
      throw new UnauthorizedError('The token is not valid');
    }
    next();
  };
}

export function requireRole(...roles: Role[]): RequestHandler {
  return (req, _res, next) => {
    if (!req.actor || !roles.includes(req.actor.role)) throw new RoleForbiddenError(roles);
    next();
  };
}

/** The authenticated actor; only call behind `authenticate`. */
export function actorOf(req: Request): Actor {
  if (!req.actor) throw new UnauthorizedError('Not authenticated');
  return req.actor;
}
