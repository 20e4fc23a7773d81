import { z } from 'zod';
import { NoParameters, rpcCommand } from './rpc.js';

// --- Circuit breakers, answered by every process of every service ----------------------

/**
 * Breakers live in each process, so ops asks them all at once: every replica of every service
 * binds its own exclusive queue to this fanout exchange and answers for its own breakers.
 */
export const BreakerBroadcasts = { exchange: 'cupo.ops.breakers' } as const;

export const BreakerState = z.enum(['closed', 'open', 'half_open']);
export type BreakerState = z.infer<typeof BreakerState>;
export const BreakerReport = z.object({
  state: BreakerState,
  failure_count: z.number().int(),
  success_count: z.number().int(),
});
export type BreakerReport = z.infer<typeof BreakerReport>;

/** A circuit breaker's name (`postgres`, `publishing`, `redis`, a provider's: `directory`, `lms`, `email`, `sis`). */
export const BreakerName = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be a breaker name such as postgres');
/** A service's name as it reports its breakers (`gateway`, `inventory`, `booking`, `enrollment`, `worker`). */
export const ServiceName = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be a service name such as worker');
/** One process's name (its host name, or host and pid): what `instances` lists. */
export const InstanceName = z.string().min(1).max(255);

/** One process's breakers. */
export const InstanceBreakers = z.object({
  service: z.string(),
  instance: z.string(),
  breakers: z.record(z.string(), BreakerReport),
});
export type InstanceBreakers = z.infer<typeof InstanceBreakers>;

/** Which breaker to reset, and optionally only in one service, or one process. */
export const ResetBreakerCommand = z.object({
  name: BreakerName,
  service: ServiceName.optional(),
  instance: InstanceName.optional(),
});
export type ResetBreakerCommand = z.infer<typeof ResetBreakerCommand>;

/** Broadcast (BreakerBroadcasts.exchange): each process answers with its own breakers. */
export const ListBreakers = rpcCommand('ops.list-breakers.v2', NoParameters, InstanceBreakers);
/**
 * Broadcast: each process that has the breaker (and matches `service`/`instance` when given)
 * resets it and answers; the others refuse with CIRCUIT_BREAKER_NOT_FOUND.
 */
export const ResetBreaker = rpcCommand(
  'ops.reset-breaker.v2',
  ResetBreakerCommand,
  z.object({ service: z.string(), instance: z.string(), name: z.string(), state: BreakerState }),
);

/** `POST /api/ops/circuit-breakers/{name}/reset?service=&instance=`: both optional, narrowing the reset. */
export const ResetBreakerQuery = z.strictObject({ service: ServiceName.optional(), instance: InstanceName.optional() });
