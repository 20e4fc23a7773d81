export * from './admin.js';
export * from './pool.js';
