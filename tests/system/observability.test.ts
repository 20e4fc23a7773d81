import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { externalTool, freePort, lacking, titleNeeding } from '@cupo/stack';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, createRoom, createSection, day, eventually, startTestStack, token, type TestStack } from './support.js';

/**
 * A real Prometheus (make test finds or fetches one) scrapes the running services with the
 * repository's scrape configuration — only the discovery swapped from Docker DNS to this
 * stack's ports — loads the repository's alert rules, and answers every query of every
 * dashboard panel with data after a short load. Without a Prometheus the tests are skipped,
 * saying how to enable them (and vitest runs no hook of a file whose every test is skipped,
 * so no stack starts).
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const prometheusBinary = externalTool('prometheus');

let stack: TestStack;
let prometheus: ChildProcess;
let promUrl: string;
let workDir: string;

beforeAll(async () => {
  stack = await startTestStack('observe', { replicas: { inventory: 2, booking: 2, enrollment: 2, worker: 2 } });
  const portsOf = (service: string) => stack.processes.filter((p) => p.name.startsWith(`${service}-`)).map((p) => `127.0.0.1:${p.port}`);

  const config = parse(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8'));
  config.global.scrape_interval = '1s';
  config.global.evaluation_interval = '1s';
  config.rule_files = [join(ROOT, 'charts/cupo/files/alerts.yml')];
  for (const job of config.scrape_configs) {
    delete job.dns_sd_configs;
    job.static_configs = [{ targets: portsOf(job.job_name) }];
  }
  workDir = mkdtempSync(join(tmpdir(), 'cupo-prometheus-'));
  writeFileSync(join(workDir, 'prometheus.yml'), stringify(config));
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    prometheusBinary.path!,
    [
      `--config.file=${join(workDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(workDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  expect(await eventually(async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok === true, 20_000)).toBe(true);
});

afterAll(async () => {
  prometheus?.kill('SIGTERM');
  await stack?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

async function query(expr: string): Promise<unknown[]> {
  const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data!.result;
}

describe.skipIf(lacking(prometheusBinary))(titleNeeding('Prometheus with the repository’s configuration', prometheusBinary), () => {
  it('scrapes every replica of every service', async () => {
    const targets = async () => {
      const body = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as {
        data: { activeTargets: { labels: { job: string }; health: string }[] };
      };
      return body.data.activeTargets;
    };
    expect(await eventually(async () => (await targets()).filter((t) => t.health === 'up').length === 9, 20_000)).toBe(true);
    const byJob = (await targets()).reduce<Record<string, number>>(
      (acc, t) => ({ ...acc, [t.labels.job]: (acc[t.labels.job] ?? 0) + 1 }),
      {},
    );
    expect(byJob).toEqual({ gateway: 1, inventory: 2, booking: 2, enrollment: 2, worker: 2 });
  });

  it('scrapes the gateway on its ops port: its public port serves no /metrics and no /readyz', async () => {
    const gateway = stack.processes.find((p) => p.name.startsWith('gateway-'))!;
    expect(gateway.httpPort).toBeDefined();
    expect(gateway.port).not.toBe(gateway.httpPort);
    const onPublic = async (path: string) => (await fetch(`http://127.0.0.1:${gateway.httpPort}${path}`)).status;
    const onOps = async (path: string) => (await fetch(`http://127.0.0.1:${gateway.port}${path}`)).status;
    expect(await onPublic('/metrics')).toBe(404);
    expect(await onPublic('/readyz')).toBe(404);
    expect(await onPublic('/healthz')).toBe(200);
    expect(await onOps('/metrics')).toBe(200);
    expect(await onOps('/readyz')).toBe(200);
    expect(await onOps('/healthz')).toBe(200);
    // The public API is not on the ops port.
    expect(await onOps('/api/rooms')).toBe(404);
  });

  it('loads the alert rules', async () => {
    const body = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string }[] }[] };
    };
    const rules = body.data.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name).sort()).toEqual([
      'CupoBookingLatencyHigh',
      'CupoCircuitBreakerOpen',
      'CupoDeadLetterQueueNotEmpty',
      'CupoEnrollmentRequestsStuck',
      'CupoErrorRatioHigh',
      'CupoTargetDown',
    ]);
    expect(rules.every((r) => r.health !== 'err')).toBe(true);
  });

  it('answers every dashboard panel’s query with data after a short load', async () => {
    const api = apiClient(stack.gatewayUrl);
    const room = await createRoom(api, { name: 'Observed', total_quantity: 3 });
    await createSection(api, { code: 'OBS-A', course: 'OBSA', capacity: 3, schedule: [{ day: 'mon', start: '10:00', end: '11:00' }] });
    await createSection(api, { code: 'OBS-B', course: 'OBSB', capacity: 30, schedule: [{ day: 'tue', start: '10:00', end: '11:00' }] });
    // About eight seconds of mixed traffic: bookings that win and lose, enrollments that
    // complete and compensate, reads.
    const adminToken = await token('obs-admin', 'admin');
    // Limits high enough for the workflows to finish within the load (the defaults are 10–60/min).
    await api('PUT', '/api/admin/config', {
      token: adminToken,
      body: { batch_size: 4, rate_limit_directory_per_min: 6000, rate_limit_lms_per_min: 6000, rate_limit_email_per_min: 6000 },
    });
    const ingest = api('POST', '/api/admin/onboarding/ingest', {
      token: adminToken,
      body: { students: Array.from({ length: 8 }, (_, i) => ({ id: `OBS${i}`, name: `Obs ${i}`, email: `obs${i}@example.com` })) },
    });
    const until = Date.now() + 8_000;
    let round = 0;
    while (Date.now() < until) {
      round += 1;
      await Promise.all([
        ...Array.from({ length: 6 }, async (_, i) =>
          api('POST', '/api/bookings', {
            token: await token(`obs-guest-${round}-${i}`),
            body: { room_id: room.id, check_in: day(1 + (round % 20)), check_out: day(2 + (round % 20)) },
          }),
        ),
        ...Array.from({ length: 3 }, async (_, i) =>
          api('POST', '/api/enrollments', {
            token: await token(`RA${String(((round * 3 + i) % 50) + 1).padStart(4, '0')}`, 'student'),
            body: { term: '1-2025', sections: i % 2 ? ['OBS-B', 'OBS-A'] : ['OBS-A'] },
            headers: { 'idempotency-key': `obs-${round}-${i}` },
          }),
        ),
        api('POST', '/api/queries', {
          token: await token('obs-reporter', round % 2 ? 'admin' : 'guest'),
          body:
            round % 2
              ? { type: 'section_roster', params: { section: 'OBS-A' } }
              : { type: 'room_search', params: { from: day(1), to: day(3) } },
        }),
        api('GET', '/api/rooms'),
        api('GET', '/api/sections?term=1-2025'),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await ingest).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    const dashboards = join(ROOT, 'charts/cupo/dashboards');
    const empty: string[] = [];
    // The load-test dashboard's k6 panels need a k6 run streamed in: tests/system/k6.test.ts.
    for (const file of readdirSync(dashboards).filter((f) => f !== 'load-test.json')) {
      const dashboard = JSON.parse(readFileSync(join(dashboards, file), 'utf8'));
      for (const panel of dashboard.panels) {
        for (const target of panel.targets) {
          const expr = String(target.expr).replaceAll('$__rate_interval', '1m');
          if ((await query(expr)).length === 0) empty.push(`${file} / ${panel.title}: ${expr}`);
        }
      }
    }
    expect(empty).toEqual([]);
  });
});
