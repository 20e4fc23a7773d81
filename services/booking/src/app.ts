import { RpcServer, type AmqpConnectionManager, type RpcClient } from '@cupo/amqp';
import {
  addDatabaseBreaker,
  addRedisBreaker,
  breakerBroadcastServer,
  CircuitBreakers,
  guardedByBreaker,
  type DatabaseBreakerConfig,
  type RedisBreakerConfig,
} from '@cupo/circuit-breakers';
import { todayUtc } from '@cupo/contracts';
import type { Sql } from '@cupo/database';
import { PeriodicTask, type Logger } from '@cupo/service-kit';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { InventoryRpcClient } from './adapters/amqp/inventory-client.js';
import { rpcHandlers } from './adapters/amqp/rpc-handlers.js';
import { bookingMetrics } from './adapters/metrics.js';
import { PostgresBookingStore } from './adapters/postgres/booking-store.js';
import { RedisRoomNightLocks } from './adapters/redis/room-night-lock.js';
import type { BookingDeps } from './app/ports.js';
import { reconcileReservations } from './app/reconcile-reservations.js';
import { settleUnfinishedBookings, type SettleOptions } from './app/settle-unfinished-bookings.js';
import type { BookingConfig } from './config.js';

export interface BookingServiceParts {
  sql: Sql;
  redis: Redis;
  /** The client booking calls inventory with. */
  rpc: RpcClient;
  /** Where booking's own commands arrive (the `booking.rpc` queue). */
  amqp: AmqpConnectionManager;
  registry: Registry;
  logger: Logger;
  config: Pick<
    BookingConfig,
    | 'REDIS_KEY_PREFIX'
    | 'LOCK_TTL_MS'
    | 'LOCK_WAIT_MS'
    | 'LOCK_RETRY_INITIAL_MS'
    | 'LOCK_RETRY_MAX_MS'
    | 'INVENTORY_TIMEOUT_MS'
    | 'RECOVERY_INTERVAL_MS'
    | 'STALE_PENDING_MS'
    | 'RELEASE_GRACE_MS'
    | 'RECONCILE_INTERVAL_MS'
    | 'RECONCILE_GRACE_MS'
    | 'RECONCILE_PAGE_SIZE'
    | 'RPC_PREFETCH'
  > &
    DatabaseBreakerConfig &
    RedisBreakerConfig;
  /** This process's name, as ops lists its breakers. */
  instance: string;
}

/**
 * Builds the booking service from its connections: no listening, no environment. Booking
 * consumes no job queue (its commands are RPCs), so it has rpcHandlers and no jobHandlers.
 */
export function createBookingService(parts: BookingServiceParts) {
  const { config, logger } = parts;
  // The store and the locks already turn their outages into DependencyUnavailableError: the
  // breakers count those and, once open, refuse at once (503) instead of waiting on them.
  const breakers = addRedisBreaker(addDatabaseBreaker(new CircuitBreakers(parts.registry), config), config);
  const deps: BookingDeps = {
    bookings: guardedByBreaker(new PostgresBookingStore(parts.sql), breakers, 'postgres'),
    inventory: new InventoryRpcClient(parts.rpc, config.INVENTORY_TIMEOUT_MS),
    locks: guardedByBreaker(
      new RedisRoomNightLocks(
        parts.redis,
        {
          keyPrefix: config.REDIS_KEY_PREFIX,
          ttlMs: config.LOCK_TTL_MS,
          retryInitialDelayMs: config.LOCK_RETRY_INITIAL_MS,
          retryMaxDelayMs: config.LOCK_RETRY_MAX_MS,
        },
        parts.registry,
      ),
      breakers,
      'redis',
    ),
    metrics: bookingMetrics(parts.registry),
    clock: { today: () => todayUtc() },
  };
  const rpc = new RpcServer(parts.amqp, {
    queue: 'booking.rpc',
    handlers: rpcHandlers(deps, config.LOCK_WAIT_MS),
    prefetch: config.RPC_PREFETCH,
    logger,
    registry: parts.registry,
  });
  const settle: SettleOptions = {
    stalePendingMs: config.STALE_PENDING_MS,
    releaseGraceMs: config.RELEASE_GRACE_MS,
    batchSize: 100,
  };
  // One recovery pass at a time, every interval; stop() waits for a pass in progress.
  const recovery = new PeriodicTask(
    { name: 'booking recovery', intervalMs: config.RECOVERY_INTERVAL_MS, metrics: { registry: parts.registry, task: 'recovery' } },
    async () => {
      const done = await settleUnfinishedBookings(deps, settle, logger);
      if (done.abandoned + done.released > 0) logger.info(done, 'recovery pass');
    },
    logger,
  );
  const reconciler = new PeriodicTask(
    { name: 'booking reconciler', intervalMs: config.RECONCILE_INTERVAL_MS, metrics: { registry: parts.registry, task: 'reconciler' } },
    async () => {
      const done = await reconcileReservations(deps, { graceMs: config.RECONCILE_GRACE_MS, pageSize: config.RECONCILE_PAGE_SIZE }, logger);
      if (done.released + done.restored + done.cancelled > 0) logger.warn(done, 'reconciler repaired');
    },
    logger,
  );
  const broadcasts = breakerBroadcastServer(parts.amqp, {
    service: 'booking',
    instance: parts.instance,
    breakers,
    logger,
    registry: parts.registry,
  });
  return { deps, rpc, recovery, reconciler, breakers, broadcasts };
}
