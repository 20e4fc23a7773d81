export * from './http-client.js';
export * from './preflight.js';
export * from './processes.js';
export * from './rabbitmq.js';
export * from './stack.js';
export * from './token.js';
export * from './tcp-proxy.js';
export * from './external-tools.js';
