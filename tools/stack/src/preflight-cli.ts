import { assertReachable, dependencies } from './preflight.js';
import { defaultUrls } from './stack.js';

/** Exit 0 when PostgreSQL, Redis and RabbitMQ answer; otherwise say which do not, and how to start them. */
const urls = defaultUrls();
try {
  await assertReachable(dependencies({ postgres: urls.pgUrl, redis: urls.redisUrl, amqp: urls.amqpUrl }));
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
