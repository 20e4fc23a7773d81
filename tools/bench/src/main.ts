/**
 * `make bench`: benchmarks, not tests. Each starts its own stack and prints figures.
 * BENCH=bookings or BENCH=enrollments runs one of them; the default runs both in turn.
 */
// Piped into `head`, stdout closes early: keep going so each bench still tears its stack down.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

const which = process.env.BENCH ?? 'all';
if (which === 'all' || which === 'bookings') await import('./bookings.js');
if (which === 'all' || which === 'enrollments') await import('./enrollments.js');
