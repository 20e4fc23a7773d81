import { z } from 'zod';
import { safeString } from './text.js';

export const Role = z.enum(['guest', 'student', 'admin']);
export type Role = z.infer<typeof Role>;

/** A user's id (a token's `sub`): a guest id or a student id such as `RA0001`. */
export const MAX_USER_ID_LENGTH = 128;
export const UserId = safeString(MAX_USER_ID_LENGTH, 1);

/** Who is asking: carried in every command that reads or changes someone's data. */
export const Actor = z.object({ id: UserId, role: Role });
export type Actor = z.infer<typeof Actor>;
