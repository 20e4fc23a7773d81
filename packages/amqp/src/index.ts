export * from './ack.js';
export * from './connection.js';
export * from './envelope.js';
export * from './rpc-client.js';
export * from './rpc-server.js';
export * from './job-consumer.js';
export * from './publisher.js';
export * from './queue-inspector.js';
