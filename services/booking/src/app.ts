import type { RpcClient, RpcHandler } from '@cupo/amqp';
import { addDatabaseBreaker, addRedisBreaker, CircuitBreakers, guardedByBreaker, type DatabaseBreakerConfig, type RedisBreakerConfig } from '@cupo/circuit-breakers';
import { todayUtc } from '@cupo/contracts';
import type { Sql } from '@cupo/database';
import { PeriodicTask, type Logger } from '@cupo/service-kit';
import type { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import { InventoryRpcClient } from './adapters/amqp/inventory-client.js';
import { bookingHandlers } from './adapters/amqp/rpc-handlers.js';
import { PostgresBookingRepository } from './adapters/postgres/booking-repository.js';
import { RedisRoomNightLocks } from './adapters/redis/room-night-lock.js';
import type { BookingDeps, BookingMetrics } from './app/ports.js';
import { reconcileReservations } from './app/reconcile-reservations.js';
import { settleUnfinishedBookings, type SettleOptions } from './app/settle-unfinished-bookings.js';
import type { BookingConfig } from './config.js';

export interface BookingServiceParts {
  sql: Sql;
  redis: Redis;
  rpc: RpcClient;
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
  > &
    DatabaseBreakerConfig &
    RedisBreakerConfig;
}

/** Builds the booking service from its connections: no listening, no environment. */
export function createBookingService(parts: BookingServiceParts) {
  const { config } = parts;
  // The repository and the locks already turn their outages into DependencyUnavailableError:
  // the breakers count those and, once open, refuse at once (503) instead of waiting on them.
  const breakers = addRedisBreaker(addDatabaseBreaker(new CircuitBreakers(parts.registry), config), config);
  const deps: BookingDeps = {
    bookings: guardedByBreaker(new PostgresBookingRepository(parts.sql), breakers, 'postgres'),
    inventory: new InventoryRpcClient(parts.rpc, config.INVENTORY_TIMEOUT_MS),
    locks: guardedByBreaker(new RedisRoomNightLocks(
      parts.redis,
      {
        keyPrefix: config.REDIS_KEY_PREFIX,
        ttlMs: config.LOCK_TTL_MS,
        retryInitialDelayMs: config.LOCK_RETRY_INITIAL_MS,
        retryMaxDelayMs: config.LOCK_RETRY_MAX_MS,
      },
      parts.registry,
    ), breakers, 'redis'),
    metrics: bookingMetrics(parts.registry),
    clock: { today: () => todayUtc() },
  };
  const handlers: RpcHandler[] = bookingHandlers(deps, config.LOCK_WAIT_MS);
  const settle: SettleOptions = {
    stalePendingMs: config.STALE_PENDING_MS,
    releaseGraceMs: config.RELEASE_GRACE_MS,
    batchSize: 100,
  };
  // One recovery pass at a time, every interval; stop() waits for a pass in progress.
  const recovery = new PeriodicTask(
    'booking recovery',
    config.RECOVERY_INTERVAL_MS,
    async () => {
      const done = await settleUnfinishedBookings(deps, settle, parts.logger);
      if (done.abandoned + done.released > 0) parts.logger.info(done, 'recovery pass');
    },
    parts.logger,
  );
  const reconciler = new PeriodicTask(
    'booking reconciler',
    config.RECONCILE_INTERVAL_MS,
    async () => {
      const done = await reconcileReservations(
        deps,
        { graceMs: config.RECONCILE_GRACE_MS, pageSize: config.RECONCILE_PAGE_SIZE },
        parts.logger,
      );
      if (done.released + done.restored + done.cancelled > 0) parts.logger.warn(done, 'reconciler repaired');
    },
    parts.logger,
  );
  return { deps, handlers, recovery, reconciler, breakers };
}

function bookingMetrics(registry: Registry): BookingMetrics {
  const outcomes = new Counter({
    name: 'bookings_total',
    help: 'Booking commands by outcome (confirmed, unavailable, failed, abandoned, replayed, cancelled)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const recovered = new Counter({
    name: 'booking_recovery_actions_total',
    help: 'What the recovery loop did: abandoned stale pending bookings, released owed nights',
    labelNames: ['action'],
    registers: [registry],
  });
  const reconciled = new Counter({
    name: 'booking_reconciliations_total',
    help: 'What the reconciler repaired: reservations no booking owned (released), confirmed bookings without their nights (restored, or cancelled as NIGHTS_LOST)',
    labelNames: ['kind', 'action'],
    registers: [registry],
  });
  return {
    outcome: (outcome) => outcomes.inc({ outcome }),
    recovered: (action) => recovered.inc({ action }),
    reconciled: (kind, action) => reconciled.inc({ kind, action }),
  };
}
