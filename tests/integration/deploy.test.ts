import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { externalTool, lacking, titleNeeding, type ExternalTool } from '@cupo/stack';
// @ts-expect-error a plain .mjs script shared with `make k8s`
import { renderK8s } from '../../tools/deploy/render-k8s.mjs';

/**
 * The deploy checks: real helm, kubectl and promtool binaries (make test finds or fetches them
 * into .tools/deploy/bin; a check whose tool is missing is skipped, saying how to enable it),
 * the official Kubernetes OpenAPI schemas (kubernetes-models), and a policy every rendered
 * variant must meet.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHART = join(ROOT, 'charts/cupo');
const helm = externalTool('helm');
const kubectl = externalTool('kubectl');
const promtool = externalTool('promtool');
const run = (tool: ExternalTool, args: string[]) =>
  execFileSync(tool.path!, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec?: any; data?: any };

const docs = (text: string): K8sObject[] =>
  parseAllDocuments(text)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');

const VARIANTS: Record<string, { tool: ExternalTool; render: () => K8sObject[] }> = {
  'chart, default values': { tool: helm, render: () => docs(run(helm, ['template', 'cupo', CHART])) },
  'chart, dev values': { tool: helm, render: () => docs(run(helm, ['template', 'cupo', CHART, '-f', join(CHART, 'values-dev.yaml')])) },
  'chart, production values': {
    tool: helm,
    render: () => docs(run(helm, ['template', 'cupo', CHART, '-f', join(CHART, 'values-production.yaml')])),
  },
  'kustomize k8s/': { tool: kubectl, render: () => docs(run(kubectl, ['kustomize', 'k8s/'])) },
  'kustomize k8s/overlays/dev': { tool: kubectl, render: () => docs(run(kubectl, ['kustomize', 'k8s/overlays/dev'])) },
};

/** The kubernetes-models class for an object's apiVersion and kind. */
async function modelFor(object: K8sObject): Promise<new (data: unknown) => { validate(): void }> {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const module = group === 'monitoring.coreos.com'
    ? await import(`@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}`)
    : await import(group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`);
  const model = module[object.kind];
  if (!model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  return model;
}

function yamlFiles(dir: string): string[] {
  const skip = new Set(['node_modules', '.git', '.tools', 'dist', 'templates', '.run', 'test-results']);
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (skip.has(name)) return [];
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

describe('deployment files', () => {
  it('parses every YAML file in the repository (chart templates aside: they are Go templates)', () => {
    const files = yamlFiles(ROOT);
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const parsed = parseAllDocuments(readFileSync(file, 'utf8'));
      for (const doc of parsed) expect(doc.errors.map(String), relative(ROOT, file)).toEqual([]);
    }
  });

  it.skipIf(lacking(helm))(titleNeeding('passes helm 3 lint with the default, dev and production values', helm), () => {
    expect(run(helm, ['version', '--short'])).toMatch(/^v3\./);
    for (const values of [[], ['-f', join(CHART, 'values-dev.yaml')], ['-f', join(CHART, 'values-production.yaml')]]) {
      expect(run(helm, ['lint', CHART, '--strict', ...values])).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('validates the default and dev values against values.schema.json, and refuses bad ones', () => {
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
    const validate = new Ajv.default({ allErrors: true, strict: false }).compile(schema);
    const base = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
    expect(validate(base), JSON.stringify(validate.errors)).toBe(true);
    const merge = (a: any, b: any): any =>
      b && typeof b === 'object' && !Array.isArray(b)
        ? Object.fromEntries([...new Set([...Object.keys(a ?? {}), ...Object.keys(b)])].map((k) => [k, k in b ? merge(a?.[k], b[k]) : a[k]]))
        : b;
    for (const file of ['values-dev.yaml', 'values-production.yaml']) {
      const merged = merge(base, parse(readFileSync(join(CHART, file), 'utf8')));
      expect(validate(merged), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    expect(validate(merge(base, { image: { tag: 'latest' } }))).toBe(false);
    expect(validate(merge(base, { services: { booking: { replicas: 0 } } }))).toBe(false);
    expect(validate(merge(base, { secret: { jwtSecret: 'short' } }))).toBe(false);
  });

  for (const [variant, { tool, render }] of Object.entries(VARIANTS)) {
    describe.skipIf(lacking(tool))(titleNeeding(variant, tool), () => {
      // Collected even when skipped: render only when the tool is there.
      const objects = lacking(tool) ? [] : render();

      it('renders objects that validate against the official schemas', async () => {
        expect(objects.length).toBeGreaterThan(20);
        for (const object of objects) {
          const Model = await modelFor(object);
          expect(() => new Model(object).validate(), `${object.kind}/${object.metadata.name}`).not.toThrow();
        }
      });

      it('meets the policy: replicas, probes, resources, non-root, pinned images, PDB and HPA per service', () => {
        const deployments = objects.filter((o) => o.kind === 'Deployment');
        expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['cupo-booking', 'cupo-enrollment', 'cupo-gateway', 'cupo-inventory', 'cupo-worker']);
        const named = (kind: string) => new Set(objects.filter((o) => o.kind === kind).map((o) => o.metadata.name));
        const pdbs = named('PodDisruptionBudget');
        const hpas = named('HorizontalPodAutoscaler');
        const shutdownMs = Number(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'cupo-config')?.data?.SHUTDOWN_TIMEOUT_MS);
        for (const deployment of deployments) {
          const name = deployment.metadata.name;
          const pod = deployment.spec.template.spec;
          expect(deployment.spec.replicas, name).toBeGreaterThanOrEqual(2);
          expect(deployment.spec.strategy.type, name).toBe('RollingUpdate');
          expect(pdbs.has(name), `${name} PDB`).toBe(true);
          expect(hpas.has(name), `${name} HPA`).toBe(true);
          expect(pod.securityContext.runAsNonRoot, name).toBe(true);
          expect(pod.terminationGracePeriodSeconds * 1000, name).toBeGreaterThan(shutdownMs);
          for (const container of pod.containers) {
            expect(container.image, name).toMatch(/^[^:]+:[^:]+$/);
            expect(container.image, name).not.toMatch(/:latest$/);
            expect(container.livenessProbe.httpGet.path, name).toBe('/healthz');
            expect(container.readinessProbe.httpGet.path, name).toBe('/readyz');
            expect(container.resources.requests.cpu && container.resources.requests.memory, name).toBeTruthy();
            expect(container.resources.limits.memory, name).toBeTruthy();
            expect(container.securityContext.readOnlyRootFilesystem, name).toBe(true);
            expect(container.securityContext.allowPrivilegeEscalation, name).toBe(false);
          }
        }
        for (const object of objects) {
          for (const container of [...(object.spec?.template?.spec?.containers ?? []), ...(object.spec?.template?.spec?.initContainers ?? [])]) {
            expect(container.image, `${object.kind}/${object.metadata.name}`).not.toMatch(/:latest$|^[^:]+$/);
          }
        }
      });
    });
  }

  it.skipIf(lacking(helm))(titleNeeding('runs migrations as a hook before install and upgrade when the infrastructure is external', helm), () => {
    const objects = VARIANTS['chart, production values']!.render();
    const job = objects.find((o) => o.kind === 'Job')!;
    expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(objects.some((o) => o.kind === 'StatefulSet')).toBe(false);
    expect(objects.filter((o) => o.kind === 'ServiceMonitor')).toHaveLength(5);
    expect(objects.filter((o) => o.kind === 'PrometheusRule')).toHaveLength(1);
  });

  it.skipIf(lacking(helm))(titleNeeding('keeps k8s/ in agreement with the chart (k8s/base/cupo.yaml is the chart rendered)', helm), () => {
    const committed = readFileSync(join(ROOT, 'k8s/base/cupo.yaml'), 'utf8');
    expect(committed === renderK8s(helm.path, ROOT.replace(/\/$/, '')), 'k8s/base/cupo.yaml is stale: run `make k8s`').toBe(true);
  });

  it.skipIf(lacking(promtool))(titleNeeding('has alert rules that promtool accepts', promtool), () => {
    expect(run(promtool, ['check', 'rules', join(CHART, 'files/alerts.yml')])).toMatch(/SUCCESS: 6 rules found/);
  });

  it('has one Grafana dashboard per file, each panel with a query', () => {
    const files = readdirSync(join(CHART, 'dashboards'));
    expect(files.sort()).toEqual(['bookings.json', 'enrollment.json', 'overview.json', 'worker.json']);
    for (const file of files) {
      const dashboard = JSON.parse(readFileSync(join(CHART, 'dashboards', file), 'utf8'));
      expect(dashboard.uid, file).toMatch(/^cupo-/);
      for (const panel of dashboard.panels) {
        expect(panel.targets.length, `${file}: ${panel.title}`).toBeGreaterThan(0);
        for (const target of panel.targets) expect(target.expr, `${file}: ${panel.title}`).toBeTruthy();
      }
    }
  });
});
