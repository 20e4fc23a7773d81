export * from './text.js';
export * from './actor.js';
export * from './bookings.js';
export * from './dates.js';
export * from './rooms.js';
export * from './enrollments.js';
export * from './queries.js';
export * from './onboarding.js';
