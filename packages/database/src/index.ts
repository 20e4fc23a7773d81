export * from './admin.js';
export * from './batches.js';
export * from './pool.js';
export * from './tracing.js';
export * from './status-counts.js';
