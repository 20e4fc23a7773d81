import { z } from 'zod';

export const Role = z.enum(['guest', 'student', 'admin']);
export type Role = z.infer<typeof Role>;

/** Who is asking: carried in every command that reads or changes someone's data. */
export const Actor = z.object({ id: z.string().min(1), role: Role });
export type Actor = z.infer<typeof Actor>;
