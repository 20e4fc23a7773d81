import { join } from 'node:path';
import { defaultUrls, REPO_ROOT, startStack } from './stack.js';
import { superviseStack, type Supervisor } from './supervisor.js';
import { signToken } from './token.js';

/**
 * `make run`: the whole system on the local servers (PG_URL, REDIS_URL, AMQP_URL override
 * the defaults), 2 replicas each of inventory, booking, enrollment and worker behind one gateway. Logs go to
 * .run/logs; Ctrl-C or SIGTERM stops every process gracefully.
 */
const port = Number(process.env.PORT ?? 8080);
const logDir = join(REPO_ROOT, '.run', 'logs');

let stack: Awaited<ReturnType<typeof startStack>> | undefined;
let supervisor: Supervisor | undefined;
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping…`);
  // Before any process is stopped: replicas that exit now are shutting down, not dying.
  supervisor?.stop();
  await stack?.stop();
  console.log('stopped');
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

try {
  stack = await startStack({
    ...defaultUrls(),
    replicas: { inventory: 2, booking: 2, enrollment: 2, worker: 2 },
    gatewayPort: port,
    opsPortBase: Number(process.env.OPS_PORT_BASE ?? 9101),
    logDir,
    log: (line) => console.log(line),
    // The UI's development sign-in (POST /api/dev/token); never enabled in production.
    serviceEnv: { gateway: { DEV_LOGIN_ENABLED: 'true' } },
  });
} catch (error) {
  console.error(`make run failed:\n${(error as Error).message}`);
  process.exit(1);
}
// A replica that dies is started again, with backoff, as Kubernetes and compose would.
if (!stopping) supervisor = superviseStack(stack, (line) => console.error(line));
const guest = await signToken({ sub: 'guest-1', role: 'guest' });
const student = await signToken({ sub: 'RA0001', role: 'student' });
const admin = await signToken({ sub: 'admin-1', role: 'admin' });
console.log(`
Cupo API and web UI: ${stack.gatewayUrl}   (logs: ${logDir})
  curl ${stack.gatewayUrl}/api/rooms
  curl ${stack.gatewayUrl}/api/sections?term=1-2025
  development tokens (2 h): GUEST=${guest}
                            STUDENT=${student}   (RA0001)
                            ADMIN=${admin}
ready`);
