import { Counter, type Registry } from 'prom-client';
import type { BookingMetrics } from '../app/ports.js';

/** Booking's counters, registered on the service's registry. */
export function bookingMetrics(registry: Registry): BookingMetrics {
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
