export * from './config.js';
export * from './health.js';
export * from './logger.js';
export * from './metrics.js';
export * from './request-id.js';
export * from './shutdown.js';
export * from './service.js';
export * from './service-env.js';
