import { checkVhostAdmin, dependencies, unreachable } from './preflight.js';
import { composeVersion, chooseRunMode } from './preflight-run-mode.js';
import { checkServerVersions } from './preflight-versions.js';
import { defaultUrls } from './stack.js';

/**
 * The servers' half of what `make run` and `make test` check before starting anything (the
 * toolchain's half, Node.js and make, is preflight-toolchain.cjs, run before the build):
 *
 *   preflight-cli.js test   every server answers and is new enough, and RabbitMQ lets this user
 *                           create virtual hosts, one line each; exit 1 if not.
 *   preflight-cli.js run    chooses how make run runs: `local` or `compose` on stdout for the
 *                           Makefile to act on, one line on stderr saying which and why; exit 1
 *                           with the reasons when neither can run.
 *
 * Everything meant for people goes to stderr, so stdout is only the answer.
 */
const command = process.argv[2];
if (command !== 'run' && command !== 'test') {
  console.error('usage: preflight-cli.js run|test');
  process.exit(2);
}
const urls = defaultUrls();
const deps = dependencies({ postgres: urls.pgUrl, redis: urls.redisUrl, amqp: urls.amqpUrl });
const down = await unreachable(deps);

const versionsOk = async (): Promise<boolean> => {
  const checks = await checkServerVersions({ PostgreSQL: urls.pgUrl, Redis: urls.redisUrl, RabbitMQ: urls.amqpUrl });
  for (const check of checks) console.error(check.line);
  return checks.every((check) => check.ok);
};

if (command === 'test') {
  for (const line of down) console.error(line);
  if (down.length > 0 || !(await versionsOk())) process.exit(1);
  const vhosts = await checkVhostAdmin(urls.amqpUrl);
  console.error(vhosts.line);
  if (!vhosts.ok) process.exit(1);
} else {
  const choice = await chooseRunMode({ servers: deps.map((dep) => dep.name), unreachable: down, compose: () => composeVersion() });
  if (choice.mode === 'none') {
    for (const line of choice.lines) console.error(line);
    process.exit(1);
  }
  if (choice.mode === 'local' && !(await versionsOk())) process.exit(1);
  console.error(choice.line);
  console.log(choice.mode);
}
