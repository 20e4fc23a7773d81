import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { defaultUrls, freePort } from '@cupo/stack';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, pathWithout, removeTempDirs, runIn, tempDir, writeCommand } from './commands.js';

/**
 * `make run` chooses its mode: the local servers when all answer, Docker Compose only when none
 * does and `docker compose version` works, otherwise the unreachable servers and how to start
 * them. Driven through `make run` itself with a stand-in `docker` on PATH that records what it
 * is asked (and a compose that "runs" by exiting), and servers made unreachable by pointing
 * their URL at a closed port. The local branch stops at DRY_RUN=1 instead of starting the system.
 */
afterAll(removeTempDirs);

const real = defaultUrls();
const closed = async () => {
  const port = await freePort(); // free, and nothing listens on it: refused
  return {
    pgUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    redisUrl: `redis://127.0.0.1:${port}`,
    amqpUrl: `amqp://guest:guest@127.0.0.1:${port}`,
  };
};

/** A `docker` that logs its arguments; `compose version` works only when `compose` is true. */
function fakeDocker(compose: boolean) {
  const dir = tempDir('docker');
  const log = join(dir, 'docker.log');
  writeCommand(
    dir,
    'docker',
    `echo "$*" >> '${log}'
case "$1 $2" in
  "compose version") ${compose ? 'echo "Docker Compose version v2.29.7"; exit 0' : `echo "docker: 'compose' is not a docker command." >&2; exit 1`} ;;
  "compose up") exit 0 ;;
esac
echo "unexpected: docker $*" >&2; exit 99`,
  );
  return { dir, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
}

function makeRun(urls: { pgUrl: string; redisUrl: string; amqpUrl: string }, path: string, args: string[] = []) {
  return runIn('make', ['-s', '--no-print-directory', 'run', ...args], {
    ...cleanEnv(),
    PATH: path,
    PG_URL: urls.pgUrl,
    REDIS_URL: urls.redisUrl,
    AMQP_URL: urls.amqpUrl,
  });
}

describe('make run', () => {
  it('uses the local servers when every one answers, and says so in one line (Docker is not even asked)', async () => {
    const docker = fakeDocker(true);
    const ran = await makeRun(real, `${docker.dir}${delimiter}${process.env.PATH}`, ['DRY_RUN=1']);
    expect(ran.status, ran.stderr).toBe(0);
    const modeLines = ran.stderr.split('\n').filter((line) => line.startsWith('make run:'));
    expect(modeLines).toEqual(['make run: local mode — PostgreSQL, Redis and RabbitMQ all answer here']);
    expect(docker.calls()).toEqual([]);
  });

  it('falls back to Docker Compose when no local server answers and `docker compose version` works', async () => {
    const docker = fakeDocker(true);
    const ran = await makeRun(await closed(), `${docker.dir}${delimiter}${process.env.PATH}`);
    expect(ran.status, ran.stderr).toBe(0);
    expect(ran.stderr).toContain(
      'make run: Docker Compose mode — no local server answers (PostgreSQL, Redis and RabbitMQ) and `docker compose version` works (Docker Compose version v2.29.7): docker compose up --build',
    );
    expect(docker.calls()).toEqual(['compose version', 'compose up --build']);
  });

  it('names the one unreachable server and how to start it when the others answer, and never runs compose', async () => {
    const docker = fakeDocker(true);
    const rabbitDown = { ...real, amqpUrl: (await closed()).amqpUrl };
    const port = new URL(rabbitDown.amqpUrl).port;
    const ran = await makeRun(rabbitDown, `${docker.dir}${delimiter}${process.env.PATH}`);
    expect(ran.status).not.toBe(0);
    expect(ran.stderr).toContain(`RabbitMQ is not reachable at 127.0.0.1:${port}`);
    expect(ran.stderr).toContain("start it with 'rabbitmq-server -detached'");
    expect(ran.stderr).not.toMatch(/PostgreSQL is not reachable|Redis is not reachable/);
    expect(ran.stderr).toContain('make run: not starting — PostgreSQL and Redis answer here but not every server does');
    expect(docker.calls()).toEqual([]);
  });

  it('refuses when no server answers and docker has no compose plugin, naming every server', async () => {
    const docker = fakeDocker(false);
    const ran = await makeRun(await closed(), `${docker.dir}${delimiter}${process.env.PATH}`);
    expect(ran.status).not.toBe(0);
    for (const name of ['PostgreSQL', 'Redis', 'RabbitMQ'])
      expect(ran.stderr).toMatch(new RegExp(`${name} is not reachable at .*: start it with`));
    expect(ran.stderr).toContain(
      "Docker Compose cannot stand in (`docker compose version` failed: docker: 'compose' is not a docker command.)",
    );
    expect(docker.calls()).toEqual(['compose version']);
  });

  it('refuses when no server answers and docker is not installed', async () => {
    const ran = await makeRun(await closed(), pathWithout(['docker']));
    expect(ran.status).not.toBe(0);
    expect(ran.stderr).toContain('Docker Compose cannot stand in (docker is not installed)');
  });
});
