import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { externalTool, freePort, lacking, runK6, titleNeeding } from '@cupo/stack';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestStack, type TestStack } from './support.js';

/**
 * The k6 scripts run by a real k6 (CUPO_K6, else the team's copy at ../shared/bin/k6, else one
 * on PATH; without one these are skipped, saying how to enable them) the way `make load` runs
 * them (runK6: the gateway's URL and JWT settings from the environment the stack was started
 * with), against a test stack. Then a run streamed to a real Prometheus started with compose's
 * remote-write flags and the repository's scrape configuration: its metrics arrive, counted as
 * k6 counted them, and every panel of the load-test dashboard answers with data.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const k6 = externalTool('k6');
const prometheusBinary = externalTool('prometheus');

let stack: TestStack;
let workDir: string;

beforeAll(async () => {
  stack = await startTestStack('k6', { replicas: { inventory: 1, booking: 2, enrollment: 1, worker: 1 } });
  workDir = mkdtempSync(join(tmpdir(), 'cupo-k6-'));
});

afterAll(async () => {
  await stack?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

type Summary = { metrics: Record<string, { count?: number; thresholds?: Record<string, boolean> }> };
const summaryOf = (file: string): Summary => JSON.parse(readFileSync(file, 'utf8'));

describe.skipIf(lacking(k6))(titleNeeding('the k6 scripts against a test stack', k6), () => {
  for (const script of ['smoke', 'booking-burst']) {
    it(`${script}.js holds every threshold`, async () => {
      const summaryFile = join(workDir, `${script}.json`);
      const run = await runK6({ k6: k6.path!, script, baseUrl: stack.gatewayUrl, args: [`--summary-export=${summaryFile}`] });
      expect(run.status, run.output).toBe(0);
      // k6's summary marks a threshold that failed `true`: every one is there, and none failed.
      const thresholds = Object.entries(summaryOf(summaryFile).metrics).flatMap(([metric, { thresholds = {} }]) =>
        Object.entries(thresholds).map(([threshold, failed]) => ({ metric, threshold, failed })),
      );
      expect(thresholds.length, run.output).toBeGreaterThanOrEqual(script === 'smoke' ? 2 : 6);
      expect(thresholds.filter((t) => t.failed)).toEqual([]);
      if (script === 'booking-burst') {
        const { metrics } = summaryOf(summaryFile);
        expect([metrics.bookings_confirmed?.count, metrics.bookings_conflict?.count]).toEqual([1, 49]);
      }
    });
  }
});

describe.skipIf(lacking(k6, prometheusBinary))(titleNeeding('a k6 run streamed to Prometheus', k6, prometheusBinary), () => {
  let prometheus: ChildProcess;
  let promUrl: string;

  beforeAll(async () => {
    // The repository's scrape configuration with this stack's ports (as the observability test
    // does), and compose's flags that let k6 write: without them nothing arrives.
    const config = parse(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8'));
    config.global.scrape_interval = '1s';
    delete config.rule_files;
    for (const job of config.scrape_configs) {
      delete job.dns_sd_configs;
      job.static_configs = [
        { targets: stack.processes.filter((p) => p.name.startsWith(`${job.job_name}-`)).map((p) => `127.0.0.1:${p.port}`) },
      ];
    }
    writeFileSync(join(workDir, 'prometheus.yml'), stringify(config));
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));
    const receiving = (compose.services.prometheus.command as string[]).filter((flag) =>
      /^--(web\.enable-remote-write-receiver|enable-feature=)/.test(flag),
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      prometheusBinary.path!,
      [
        `--config.file=${join(workDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(workDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        ...receiving,
      ],
      { stdio: 'ignore' },
    );
    expect(await eventually(async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok === true, 20_000)).toBe(true);
  });
  afterAll(() => {
    prometheus?.kill('SIGTERM');
  });

  async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
    return body.data!.result;
  }

  it('arrives as k6 counted it, and every panel of the load-test dashboard answers', async () => {
    // The mixed journeys for a few seconds, small: continuous traffic, so every series gets
    // several samples (k6 writes a series only in the intervals it changed in).
    const testId = `k6test-${randomBytes(4).toString('hex')}`;
    const summaryFile = join(workDir, 'mixed.json');
    const run = await runK6({
      k6: k6.path!,
      script: 'mixed',
      baseUrl: stack.gatewayUrl,
      prometheusUrl: promUrl,
      testId,
      env: {
        ...process.env,
        TARGET_RATE: '4',
        RAMP: '1s',
        HOLD: '4s',
        ROOMS: '3',
        SECTIONS: '3',
        STUDENTS: '12',
        K6_PROMETHEUS_RW_PUSH_INTERVAL: '1s',
      },
      // Its thresholds are for a full-size run (≥ 100 requests/s); this one is about the stream.
      args: ['--no-thresholds', `--summary-export=${summaryFile}`],
    });
    expect(run.status, run.output).toBe(0);
    expect(run.output).not.toMatch(/level=(error|warning)/);

    const sent = summaryOf(summaryFile).metrics;
    const total = async (metric: string) => Number((await query(`sum(${metric}{testid="${testId}"})`))[0]?.value[1] ?? 0);
    expect(sent.http_reqs?.count).toBeGreaterThan(20);
    expect(await total('k6_http_reqs_total')).toBe(sent.http_reqs!.count);
    expect(await total('k6_iterations_total')).toBe(sent.iterations!.count);

    await new Promise((resolve) => setTimeout(resolve, 2_000)); // a last scrape of the services
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'charts/cupo/dashboards/load-test.json'), 'utf8'));
    expect(dashboard.templating.list.map((v: { name: string }) => v.name)).toEqual(['datasource', 'testid']);
    const empty: string[] = [];
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        const expr = String(target.expr).replaceAll('$__rate_interval', '1m').replaceAll('$testid', testId);
        if ((await query(expr)).length === 0) empty.push(`${panel.title}: ${expr}`);
      }
    }
    expect(empty).toEqual([]);
  });
});
