import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMetricsRegistry } from '@cupo/service-kit';
import { externalTool, freePort, lacking, titleNeeding } from '@cupo/stack';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The chart's ServiceMonitor, scraped by a real Prometheus: the scrape configuration is the
 * one the Prometheus Operator generates from it (target labels namespace, service, pod,
 * container, endpoint and job from the Kubernetes Service, then the ServiceMonitor's own
 * relabelings, honor_labels from honorLabels), the target a service's real metrics registry.
 * A second job, the same without honorLabels, shows what the dashboards would get otherwise.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const helm = externalTool('helm');
const prometheusTool = externalTool('prometheus');
/** Without helm or prometheus the file is skipped, saying what would enable it. */
const missing = lacking(helm, prometheusTool);

/** A ServiceMonitor endpoint, as far as the operator's scrape job reads it. */
interface MonitorEndpoint {
  port: string;
  path?: string;
  honorLabels?: boolean;
  relabelings?: Record<string, unknown>[];
}

/** What these tests read of a rendered ServiceMonitor. */
interface ServiceMonitor {
  kind: string;
  metadata: { name: string };
  spec: { endpoints: MonitorEndpoint[] };
}

const monitors: ServiceMonitor[] = missing
  ? []
  : parseAllDocuments(
      execFileSync(
        helm.path!,
        ['template', 'cupo', join(ROOT, 'charts/cupo'), '--namespace', 'cupo', '-f', join(ROOT, 'charts/cupo/values-production.yaml')],
        { encoding: 'utf8' },
      ),
    )
      .map((d) => d.toJS() as ServiceMonitor | null)
      .filter((o): o is ServiceMonitor => o?.kind === 'ServiceMonitor');
const gatewayMonitor = monitors.find((m) => m.metadata.name === 'cupo-gateway');

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const relabeling = (r: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [snake(k), k === 'action' ? String(v).toLowerCase() : v]));

/** The operator's scrape job for one endpoint of a ServiceMonitor, on a static target. */
function operatorJob(name: string, endpoint: MonitorEndpoint, target: string, kubernetesService: string) {
  const set = (label: string, value: string) => ({ target_label: label, replacement: value });
  return {
    job_name: name,
    honor_labels: endpoint.honorLabels ?? false,
    metrics_path: endpoint.path ?? '/metrics',
    scrape_interval: '1s',
    static_configs: [{ targets: [target] }],
    relabel_configs: [
      set('namespace', 'cupo'),
      set('service', kubernetesService),
      set('pod', `${kubernetesService}-7d9f8b6c5-x2x4z`),
      set('container', 'gateway'),
      set('endpoint', endpoint.port),
      set('job', kubernetesService),
      ...(endpoint.relabelings ?? []).map(relabeling),
      set('variant', name),
    ],
  };
}

let metrics: Server;
let prometheus: ChildProcess;
let promUrl: string;
let workDir: string;

beforeAll(async () => {
  if (missing) return;
  const registry = createMetricsRegistry('gateway');
  metrics = createServer(async (_req, res) => res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics()));
  await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve));
  const target = `127.0.0.1:${(metrics.address() as { port: number }).port}`;

  const [endpoint] = gatewayMonitor!.spec.endpoints as [MonitorEndpoint];
  const config = {
    global: { scrape_interval: '1s' },
    scrape_configs: [
      operatorJob('rendered', endpoint, target, 'cupo-gateway-ops'),
      operatorJob('without-honor-labels', { ...endpoint, honorLabels: undefined }, target, 'cupo-gateway-ops'),
    ],
  };
  workDir = mkdtempSync(join(tmpdir(), 'cupo-servicemonitor-'));
  writeFileSync(join(workDir, 'prometheus.yml'), stringify(config));
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    prometheusTool.path!,
    [
      `--config.file=${join(workDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(workDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
});

afterAll(async () => {
  prometheus?.kill('SIGTERM');
  metrics?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** The labels of a series from each scrape job, once both have been scraped. */
async function seriesLabels(): Promise<Record<string, Record<string, string>>> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent('nodejs_eventloop_lag_seconds')}`).catch(
      () => undefined,
    );
    const body = (await response?.json().catch(() => undefined)) as { data?: { result: { metric: Record<string, string> }[] } } | undefined;
    const result = body?.data?.result ?? [];
    if (result.length === 2) return Object.fromEntries(result.map((r) => [r.metric.variant!, r.metric]));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('Prometheus did not scrape both jobs within 20 s');
}

describe.skipIf(missing)(titleNeeding('the rendered ServiceMonitor under Prometheus', helm, prometheusTool), () => {
  it('renders one per service, scraping the ops port', () => {
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual([
      'cupo-booking',
      'cupo-enrollment',
      'cupo-gateway',
      'cupo-inventory',
      'cupo-worker',
    ]);
    for (const monitor of monitors) expect(monitor.spec.endpoints.map((e) => e.port)).toEqual(['ops']);
  });

  it('keeps the application’s `service` label, which dashboards and alerts group by, and the compose `job`', async () => {
    const labels = await seriesLabels();
    expect(labels.rendered).toMatchObject({ service: 'gateway', job: 'gateway', namespace: 'cupo' });
    expect(labels.rendered).not.toHaveProperty('exported_service');
    // Without honorLabels the operator's target label wins: `service` would read
    // cupo-gateway-ops and the application's label would become exported_service.
    expect(labels['without-honor-labels']).toMatchObject({ service: 'cupo-gateway-ops', exported_service: 'gateway' });
  });
});
