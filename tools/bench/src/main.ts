/**
 * `make bench`: benchmarks, not tests. Each starts its own stack and prints figures.
 * BENCH=bookings or BENCH=enrollments runs one of them; the default runs both in turn.
 */
const which = process.env.BENCH ?? 'all';
if (which === 'all' || which === 'bookings') await import('./bookings.js');
if (which === 'all' || which === 'enrollments') await import('./enrollments.js');
