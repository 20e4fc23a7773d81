import { writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { freePort } from '@cupo/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, pathWithout, removeTempDirs, runIn, tempDir, writeCommand } from './commands.js';
import { oldPostgres, oldRabbitmq, oldRedis, type OldServer } from './old-servers.js';

/**
 * `make run` and `make test` check versions before anything else: Node.js against
 * package.json's engines and make's features before installing or building (one line each), the
 * servers' versions — read from the servers — before starting anything, and for make test
 * that RabbitMQ lets this user create the tests' virtual hosts. An old Node.js is a
 * stand-in `node` that reports 18.19.0, an old make a command-line MAKE_VERSION/.FEATURES, old
 * servers speak just enough of their protocols to say 12.22, 4.0.14 and 3.9.29.
 */
afterAll(removeTempDirs);

/** A `node` first on PATH that is the real one reporting itself as `version`. */
function nodeReporting(version: string): string {
  const dir = tempDir('node');
  const shim = join(dir, 'version.cjs');
  writeFileSync(shim, `Object.defineProperty(process.versions, 'node', { value: ${JSON.stringify(version)} });\n`);
  writeCommand(dir, 'node', `exec '${process.execPath}' --require '${shim}' "$@"`);
  return `${dir}${delimiter}${process.env.PATH}`;
}

/** `make <target>`; PG_URL points at a closed port, so even a make test that got past the toolchain would stop before vitest. */
async function make(target: string, env: NodeJS.ProcessEnv = {}, args: string[] = []) {
  const port = await freePort();
  return runIn('make', ['-s', '--no-print-directory', target, ...args], {
    ...cleanEnv(),
    PG_URL: `postgres://postgres@127.0.0.1:${port}/postgres`,
    ...env,
  });
}

const firstLine = (text: string) => text.split('\n')[0];

describe('the toolchain check, first in make run and make test', () => {
  it('reports a Node.js older than the engines range in one line and stops before installing anything', async () => {
    for (const target of ['run', 'test']) {
      const ran = await make(target, { PATH: nodeReporting('18.19.0') });
      expect(ran.status, target).not.toBe(0);
      expect(firstLine(ran.stderr), target).toBe(
        'Node.js 18.19.0 is older than package.json engines >=20.19: install Node.js 20.19 or newer (https://nodejs.org/en/download, or `nvm install 20`) and put it first on PATH',
      );
      expect(ran.stderr, target).not.toMatch(/pnpm|tsc|PostgreSQL/);
    }
  });

  it('reports a make without the features the Makefile uses in one line and stops', async () => {
    for (const target of ['run', 'test']) {
      const ran = await make(target, {}, ['MAKE_VERSION=3.80', '.FEATURES=archives']);
      expect(ran.status, target).not.toBe(0);
      const lines = ran.stderr.split('\n');
      expect(lines[0], target).toMatch(/^Node\.js \S+ ok \(package\.json engines >=20\.19\)$/);
      expect(lines[1], target).toBe(
        'GNU make 3.80 lacks target-specific, order-only (the Makefile uses them): install GNU make 3.81 or newer (Debian: `apt-get install make`, macOS: `brew install make`, then use `gmake`)',
      );
      expect(ran.stderr, target).not.toMatch(/PostgreSQL/);
    }
  });

  it('passes a current Node.js and GNU make with one line each', async () => {
    const ran = await runIn('make', ['-s', '--no-print-directory', 'toolchain', 'TOOLCHAIN_OUTPUT='], cleanEnv());
    expect(ran.status, ran.stderr).toBe(0);
    expect(ran.stderr.trim().split('\n')).toEqual([
      `Node.js ${process.versions.node} ok (package.json engines >=20.19)`,
      expect.stringMatching(/^GNU make \S+ ok \(has target-specific, order-only\)$/),
    ]);
  });
});

describe('the servers’ versions, read from the servers before anything starts', () => {
  let old: OldServer[];
  let oldUrls: NodeJS.ProcessEnv;
  beforeAll(async () => {
    old = await Promise.all([oldPostgres(120022), oldRedis('4.0.14'), oldRabbitmq('3.9.29')]);
    oldUrls = { PG_URL: old[0]!.url, REDIS_URL: old[1]!.url, AMQP_URL: old[2]!.url };
  });
  afterAll(async () => {
    await Promise.all(old.map((server) => server.close()));
  });

  const tooOld = [
    'PostgreSQL 12.22 is older than 13, which the code needs (gen_random_uuid() is built in from 13, and node-pg-migrate 8 supports 13 and newer): upgrade it, or point PG_URL at a newer one',
    "Redis 4.0.14 is older than 5.0, which the code needs (the rate limiter's script writes after calling TIME, which scripts may do by default only from 5.0 on): upgrade it, or point REDIS_URL at a newer one",
    'RabbitMQ 3.9.29 is older than 3.10, which the code needs (job queues are quorum queues with x-delivery-limit and at-least-once dead-lettering): upgrade it, or point AMQP_URL at a newer one',
  ];

  it('make run refuses servers older than the code needs, one line each, and chooses no mode', async () => {
    const ran = await make('run', oldUrls, ['DRY_RUN=1']);
    expect(ran.status).not.toBe(0);
    const lines = ran.stderr
      .trim()
      .split('\n')
      .filter((line) => !line.startsWith('make: ***'));
    expect(lines.slice(-3)).toEqual(tooOld);
    expect(ran.stderr).not.toContain('make run: local mode');
    expect(ran.stdout).toBe('');
  });

  it('make test’s check (the same entry point its recipe runs) refuses them too', async () => {
    const ran = await runIn('node', ['tools/stack/dist/preflight-cli.js', 'test'], { ...cleanEnv(), ...oldUrls });
    expect(ran.status).not.toBe(0);
    expect(ran.stderr.trim().split('\n')).toEqual(tooOld);
  });

  it('passes this machine’s servers, naming the version each reported', async () => {
    const ran = await runIn('node', ['tools/stack/dist/preflight-cli.js', 'test'], cleanEnv());
    expect(ran.status, ran.stderr).toBe(0);
    const lines = ran.stderr.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^PostgreSQL \d+\.\d+ ok \(needs 13 or newer: /);
    expect(lines[1]).toMatch(/^Redis \d+\.\d+\.\d+ ok \(needs 5\.0 or newer: /);
    expect(lines[2]).toMatch(/^RabbitMQ \d+\.\d+\.\d+ ok \(needs 3\.10 or newer: /);
    expect(lines[3]).toBe('RabbitMQ virtual hosts ok (the tests can create their own)');
  });

  it('make test’s check refuses a RabbitMQ on which this user cannot create the tests’ virtual hosts, saying how to allow it', async () => {
    // As a user Debian's rabbitmqctl refuses, on a broker without the management plugin.
    const port = await freePort();
    const ran = await runIn('node', ['tools/stack/dist/preflight-cli.js', 'test'], {
      ...cleanEnv(),
      PATH: pathWithout(['rabbitmqctl']),
      RABBITMQ_MANAGEMENT_URL: `http://127.0.0.1:${port}`,
    });
    expect(ran.status).not.toBe(0);
    expect(ran.stderr.trim().split('\n').at(-1)).toBe(
      `RabbitMQ: this user cannot create the tests' virtual hosts (rabbitmqctl not usable here, management API at http://127.0.0.1:${port}: fetch failed): ` +
        "enable the management plugin ('rabbitmq-plugins enable rabbitmq_management'; RABBITMQ_MANAGEMENT_URL if it is not there), or run as a user rabbitmqctl accepts (root or rabbitmq on Debian)",
    );
  });
});
