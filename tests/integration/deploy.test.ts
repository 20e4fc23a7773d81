import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrlFor, dropDatabase, ensureDatabase } from '@cupo/database';
import { defaultUrls, externalTool, lacking, titleNeeding } from '@cupo/stack';
// @ts-expect-error a plain .mjs script shared with `make k8s`
import { renderK8s } from '../../tools/deploy/render-k8s.mjs';
import type { V1Container } from '@kubernetes/client-node';
import { referenceProblems, schemaProblems, type K8sObject } from './manifest-check.js';

/**
 * The deploy checks: real helm, kubectl and promtool binaries (make test finds or fetches them
 * into .tools/deploy/bin; without them these checks are skipped, saying how to enable them); every rendered variant checked field by field against the Kubernetes API
 * models and the Prometheus Operator's and KEDA's CRDs, and for references no schema sees
 * (manifest-check.ts); the services' own configuration parsers run on the environment each
 * variant gives them; and a policy every variant must meet.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHART = join(ROOT, 'charts/cupo');
const TOOLS = { helm: externalTool('helm'), kubectl: externalTool('kubectl'), promtool: externalTool('promtool') };
const tool = (name: keyof typeof TOOLS) => TOOLS[name].path!;
/** Without one of them the whole file is skipped (and nothing may run them while collecting). */
const MISSING = lacking(TOOLS.helm, TOOLS.kubectl, TOOLS.promtool);
const run = (name: keyof typeof TOOLS, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  execFileSync(tool(name), args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env });
/** The error output of a command that must fail. */
const refusal = (name: keyof typeof TOOLS, args: string[]) => {
  const result = spawnSync(tool(name), args, { cwd: ROOT, encoding: 'utf8' });
  expect(result.status, `${name} ${args.join(' ')} should fail`).not.toBe(0);
  return result.stderr;
};

const docs = (text: string): K8sObject[] =>
  parseAllDocuments(text)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');

/** What a production install must give when the chart makes the Secret: only you have these. */
const PROVIDERS = [
  '--set',
  'secret.graphClientSecret=graph-app-secret',
  '--set',
  'secret.moodleToken=moodle-ws-token',
  '--set',
  'secret.smtpUrl=smtps://mailer:pw@smtp.example.edu:465',
];
const template = (...args: string[]) => docs(run('helm', ['template', 'cupo', CHART, '--namespace', 'cupo', ...args]));
/** Scaling on queue depth (opt-in): KEDA for the two services that consume job queues. */
const KEDA = ['--set', 'services.enrollment.autoscaling.keda.enabled=true', '--set', 'services.worker.autoscaling.keda.enabled=true'];
const SERVICES = ['gateway', 'inventory', 'booking', 'enrollment', 'worker'];

/** The keys values-production.yaml tells you to put in your Secret (its `kubectl create secret`). */
const DOCUMENTED_SECRET_KEYS = [...readFileSync(join(CHART, 'values-production.yaml'), 'utf8').matchAll(/--from-literal=([A-Z_]+)=/g)].map(
  (m) => m[1]!,
);
/** Plausible production values for those keys, to run the services' config parsers on. */
const productionSecret: Record<string, string> = {
  JWT_SECRET: 'a-production-secret-of-sixty-four-characters-0123456789abcdef',
  AMQP_URL: 'amqps://cupo:pw@rabbitmq.example.internal:5671/cupo',
  REDIS_URL: 'rediss://:pw@redis.example.internal:6380',
  GRAPH_CLIENT_SECRET: 'graph-app-secret',
  MOODLE_TOKEN: 'moodle-ws-token',
  SMTP_URL: 'smtps://mailer:pw@smtp.example.edu:465',
  ...Object.fromEntries(
    ['inventory', 'booking', 'enrollment', 'worker'].map((s) => [
      `${s.toUpperCase()}_DATABASE_URL`,
      `postgres://cupo:pw@postgres.example.internal:5432/cupo_${s}`,
    ]),
  ),
};

/** A copy of k8s/ with its secrets.env generated, as a user would before `kubectl apply -k`. */
let k8sCopy: string | undefined;
function k8sWithSecrets(): string {
  if (!k8sCopy) {
    k8sCopy = mkdtempSync(join(tmpdir(), 'cupo-k8s-'));
    cpSync(join(ROOT, 'k8s'), join(k8sCopy, 'k8s'), { recursive: true, filter: (src) => !src.endsWith('secrets.env') });
    execFileSync(join(ROOT, 'k8s/generate-secrets.sh'), [], {
      env: {
        ...process.env,
        SECRETS_ENV: join(k8sCopy, 'k8s/base/secrets.env'),
        GRAPH_CLIENT_SECRET: 'graph-app-secret',
        MOODLE_TOKEN: 'moodle-ws-token',
        SMTP_URL: 'smtps://mailer:pw@smtp.example.edu:465',
      },
      stdio: 'ignore',
    });
  }
  return join(k8sCopy, 'k8s');
}
afterAll(() => {
  if (k8sCopy) rmSync(k8sCopy, { recursive: true, force: true });
});

/** Renders once, however many tests read it (each render is a helm or kubectl run). */
const once = (render: () => K8sObject[]) => {
  let objects: K8sObject[] | undefined;
  // Nothing renders while the file is only being collected to be skipped.
  return () => (MISSING ? [] : structuredClone((objects ??= render())));
};

const VARIANTS: Record<string, { render: () => K8sObject[]; externalSecrets?: Record<string, string[]> }> = {
  'chart, default values': { render: once(() => template(...PROVIDERS)) },
  'chart, dev values': { render: once(() => template('-f', join(CHART, 'values-dev.yaml'))) },
  'chart, production values': {
    render: once(() => template('-f', join(CHART, 'values-production.yaml'))),
    externalSecrets: { 'cupo-secrets': DOCUMENTED_SECRET_KEYS },
  },
  // KEDA's objects differ with the infrastructure (how the scaler finds the broker): both.
  'chart, KEDA, bundled infrastructure': { render: once(() => template(...PROVIDERS, ...KEDA)) },
  'chart, KEDA, production values': {
    render: once(() => template('-f', join(CHART, 'values-production.yaml'), ...KEDA)),
    externalSecrets: { 'cupo-secrets': DOCUMENTED_SECRET_KEYS },
  },
  'kustomize k8s/': { render: once(() => docs(run('kubectl', ['kustomize', k8sWithSecrets()]))) },
  'kustomize k8s/overlays/dev': { render: once(() => docs(run('kubectl', ['kustomize', join(k8sWithSecrets(), 'overlays/dev')]))) },
};

/** The kubernetes-models class for an object's apiVersion and kind (required fields, enums, formats). */
async function modelFor(object: K8sObject): Promise<new (data: unknown) => { validate(): void }> {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const module =
    group === 'monitoring.coreos.com'
      ? await import(`@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}`)
      : await import(group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`);
  const model = module[object.kind];
  if (!model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  return model;
}

/**
 * The environment Kubernetes would give a container: the image's NODE_ENV=production, its
 * envFrom ConfigMaps, then its env in order with $(VAR) expanded and Secret keys read.
 */
function containerEnvironment(
  objects: K8sObject[],
  container: V1Container,
  externalSecret: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = { NODE_ENV: 'production' };
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  for (const from of container.envFrom ?? []) Object.assign(env, find('ConfigMap', from.configMapRef.name)?.data);
  for (const entry of container.env ?? []) {
    const ref = entry.valueFrom?.secretKeyRef;
    if (ref) {
      const secret = find('Secret', ref.name);
      const value = secret
        ? (secret.stringData?.[ref.key] ??
          (secret.data?.[ref.key] !== undefined ? Buffer.from(secret.data[ref.key]!, 'base64').toString() : undefined))
        : externalSecret[ref.key];
      if (value !== undefined) env[entry.name] = value;
    } else {
      env[entry.name] = String(entry.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, name) => env[name] ?? all);
    }
  }
  return env;
}

const loadConfigOf = async (service: string): Promise<(env: NodeJS.ProcessEnv) => unknown> =>
  (await import(pathToFileURL(join(ROOT, 'services', service, 'dist/config.js')).href)).loadConfig;

function yamlFiles(dir: string): string[] {
  const skip = new Set(['node_modules', '.git', '.tools', 'dist', 'templates', '.run', 'test-results']);
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (skip.has(name)) return [];
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

const deployment = (objects: K8sObject[], name: string) =>
  objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `cupo-${name}`)!;
const containerOf = (objects: K8sObject[], name: string) => deployment(objects, name).spec!.template.spec.containers[0]!;

// What needs no tool runs everywhere.
describe('deployment files, read as they are', () => {
  it('parses every YAML file in the repository (chart templates aside: they are Go templates)', () => {
    const files = yamlFiles(ROOT);
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const parsed = parseAllDocuments(readFileSync(file, 'utf8'));
      for (const doc of parsed) expect(doc.errors.map(String), relative(ROOT, file)).toEqual([]);
    }
  });

  describe('docker compose (development)', () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });

    it('publishes every port on this machine only', () => {
      const published = Object.entries<{ ports?: string[] }>(compose.services).flatMap(([name, service]) =>
        (service.ports ?? []).map((port: string) => `${name} ${port}`),
      );
      expect(published.length).toBeGreaterThan(5);
      for (const port of published) expect(port).toMatch(/^\S+ 127\.0\.0\.1:\d+:\d+$/);
    });

    it('gives every service a configuration it accepts over the image’s NODE_ENV=production', async () => {
      for (const service of SERVICES) {
        const loadConfig = await loadConfigOf(service);
        expect(() => loadConfig({ NODE_ENV: 'production', ...compose.services[service].environment }), service).not.toThrow();
      }
    });

    it('runs its migration and seed steps on the environment it gives them, over the image’s NODE_ENV=production', async () => {
      // Each *-migrate service is given its database alone; the step runs here against a database of its own.
      const steps = Object.entries<{ command: string[]; environment: Record<string, string> }>(compose.services).filter(([name]) =>
        name.endsWith('-migrate'),
      );
      expect(steps.map(([name]) => name).sort()).toEqual(['booking-migrate', 'enrollment-migrate', 'inventory-migrate', 'worker-migrate']);
      const { pgUrl } = defaultUrls();
      for (const [name, { command, environment }] of steps) {
        const service = name.replace(/-migrate$/, '');
        expect(Object.keys(environment), name).toEqual(['DATABASE_URL']);
        const database = `cupo_it_compose_${service}_${Date.now().toString(36)}`;
        await ensureDatabase(pgUrl, database);
        try {
          const shell = command[0] === 'sh' ? command[2]! : command.join(' ');
          const result = spawnSync('sh', ['-c', shell], {
            cwd: join(ROOT, 'services', service),
            encoding: 'utf8',
            env: { PATH: process.env.PATH, NODE_ENV: 'production', DATABASE_URL: databaseUrlFor(pgUrl, database) },
            timeout: 60_000,
          });
          expect(result.status, `${name}: ${result.stderr}`).toBe(0);
        } finally {
          await dropDatabase(pgUrl, database);
        }
      }
    }, 120_000);
  });

  it('has one Grafana dashboard per file, each panel with a query', () => {
    const files = readdirSync(join(CHART, 'dashboards'));
    expect(files.sort()).toEqual(['bookings.json', 'enrollment.json', 'load-test.json', 'overview.json', 'worker.json']);
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
// Nearly every other check here renders the chart or runs kubectl or promtool: without one of them the
// whole file is skipped, and the summary says what would enable it.
describe.skipIf(MISSING)(titleNeeding('deployment files', TOOLS.helm, TOOLS.kubectl, TOOLS.promtool), () => {
  it('passes helm lint with the default, dev and production values, and with KEDA', () => {
    for (const values of [
      PROVIDERS,
      ['-f', join(CHART, 'values-dev.yaml')],
      ['-f', join(CHART, 'values-production.yaml')],
      [...PROVIDERS, ...KEDA],
    ]) {
      expect(run('helm', ['lint', CHART, '--strict', ...values])).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  for (const [variant, { render, externalSecrets }] of Object.entries(VARIANTS)) {
    describe(variant, () => {
      const objects = MISSING ? [] : render();

      it('renders objects that validate against the official schemas', async () => {
        expect(objects.length).toBeGreaterThan(20);
        for (const object of objects) {
          // KEDA's own CRD schema (required fields, enums) is its official one: checked below.
          if (object.apiVersion.startsWith('keda.sh/')) continue;
          const Model = await modelFor(object);
          expect(() => new Model(object).validate(), `${object.kind}/${object.metadata.name}`).not.toThrow();
        }
      });

      it('has no field the Kubernetes API (or the Prometheus Operator’s or KEDA’s CRDs) does not know, and no wrong type', () => {
        expect(objects.flatMap(schemaProblems)).toEqual([]);
      });

      it('has selectors that select, named ports that resolve, Secret keys that exist, PDBs that allow an eviction', () => {
        expect(referenceProblems(objects, externalSecrets)).toEqual([]);
      });

      it('gives every service a configuration it accepts (what the pods would crash-loop on)', async () => {
        const external = externalSecrets ? productionSecret : {};
        for (const service of SERVICES) {
          const loadConfig = await loadConfigOf(service);
          const env = containerEnvironment(objects, containerOf(objects, service), external);
          expect(() => loadConfig(env), service).not.toThrow();
        }
      });

      it('meets the policy: replicas, probes on the ops port, resources, non-root, pinned images, a PDB and one autoscaler (HPA or KEDA) per service, shutdown within the grace period', () => {
        const deployments = objects.filter((o) => o.kind === 'Deployment');
        expect(deployments.map((d) => d.metadata.name).sort()).toEqual([
          'cupo-booking',
          'cupo-enrollment',
          'cupo-gateway',
          'cupo-inventory',
          'cupo-worker',
        ]);
        const named = (kind: string) => new Map(objects.filter((o) => o.kind === kind).map((o) => [o.metadata.name, o]));
        const pdbs = named('PodDisruptionBudget');
        const hpas = named('HorizontalPodAutoscaler');
        const scaledObjects = named('ScaledObject');
        for (const deployment of deployments) {
          const name = deployment.metadata.name;
          const pod = deployment.spec.template.spec;
          const [hpa, scaled] = [hpas.get(name), scaledObjects.get(name)];
          expect([hpa, scaled].filter(Boolean), `${name}: one autoscaler, the chart's HPA or KEDA's`).toHaveLength(1);
          expect(hpa ? hpa.spec.minReplicas : scaled!.spec.minReplicaCount, name).toBeGreaterThanOrEqual(2);
          expect(deployment.spec.replicas, `${name}: replicas belong to the HPA`).toBeUndefined();
          expect(deployment.spec.strategy.type, name).toBe('RollingUpdate');
          expect(pdbs.get(name)?.spec.maxUnavailable, `${name} PDB`).toBeGreaterThanOrEqual(1);
          expect(pod.securityContext.runAsNonRoot, name).toBe(true);
          for (const container of pod.containers) {
            const env = containerEnvironment(objects, container, productionSecret);
            const drainMs = Number(env.SHUTDOWN_DRAIN_DELAY_MS ?? 0);
            expect(
              drainMs + Number(env.SHUTDOWN_TIMEOUT_MS),
              `${name}: drain and shutdown within the grace period, with margin`,
            ).toBeLessThanOrEqual(pod.terminationGracePeriodSeconds * 1000 - 5_000);
            expect(container.image, name).toMatch(/^[^:]+:[^:]+$/);
            expect(container.image, name).not.toMatch(/:latest$/);
            for (const probe of [container.startupProbe, container.livenessProbe])
              expect(probe.httpGet, name).toEqual({ path: '/healthz', port: 'ops' });
            expect(container.readinessProbe.httpGet, name).toEqual({ path: '/readyz', port: 'ops' });
            expect(container.resources.requests.cpu && container.resources.requests.memory, name).toBeTruthy();
            expect(container.resources.limits.memory, name).toBeTruthy();
            expect(container.securityContext.readOnlyRootFilesystem, name).toBe(true);
            expect(container.securityContext.allowPrivilegeEscalation, name).toBe(false);
            // A Secret without a key the service needs stops the pod with the key's name; an
            // optional one let the worker start on its development defaults.
            for (const entry of container.env ?? [])
              expect(entry.valueFrom?.secretKeyRef?.optional, `${name} ${entry.name}`).toBeUndefined();
          }
        }
        for (const object of objects) {
          for (const container of [
            ...(object.spec?.template?.spec?.containers ?? []),
            ...(object.spec?.template?.spec?.initContainers ?? []),
          ]) {
            expect(container.image, `${object.kind}/${object.metadata.name}`).not.toMatch(/:latest$|^[^:]+$/);
          }
        }
      });

      it('keeps the gateway’s readiness and metrics off its public Service, open to Prometheus only', () => {
        const gateway = containerOf(objects, 'gateway');
        expect(gateway.ports!.map((p) => p.name).sort()).toEqual(['http', 'ops']);
        const env = containerEnvironment(objects, gateway, productionSecret);
        expect(Number(env.PORT)).toBe(gateway.ports!.find((p) => p.name === 'http')!.containerPort);
        expect(Number(env.OPS_PORT)).toBe(gateway.ports!.find((p) => p.name === 'ops')!.containerPort);
        expect(Number(env.SHUTDOWN_DRAIN_DELAY_MS)).toBeGreaterThanOrEqual(5_000);
        const services = objects.filter((o) => o.kind === 'Service' && o.spec.selector?.['app.kubernetes.io/name'] === 'gateway');
        const publicService = services.find((s) => s.metadata.name === 'cupo-gateway')!;
        expect(publicService.spec!.ports.map((p) => p.targetPort)).toEqual(['http']);
        expect(services.find((s) => s.metadata.name === 'cupo-gateway-ops')!.spec!.ports.map((p) => p.targetPort)).toEqual(['ops']);
        const policy = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'cupo-gateway')!;
        for (const rule of policy.spec.ingress) {
          const ports = rule.ports.map((p) => p.port);
          if (ports.includes('ops')) expect(rule.from?.[0]?.podSelector?.matchLabels).toEqual({ 'app.kubernetes.io/name': 'prometheus' });
          else expect(ports).toEqual(['http']);
        }
        for (const service of SERVICES.filter((s) => s !== 'gateway')) {
          expect(
            containerOf(objects, service).ports!.map((p) => p.name),
            service,
          ).toEqual(['ops']);
        }
      });
    });
  }

  describe('secrets', () => {
    it('refuses a default install that lacks the worker’s provider credentials, naming them', () => {
      const stderr = refusal('helm', ['template', 'cupo', CHART]);
      for (const value of ['graphClientSecret', 'moodleToken', 'smtpUrl']) expect(stderr).toContain(`secret.${value}`);
    });

    it('generates the JWT secret and every bundled password when not given: random, none a development default, none inline', () => {
      const [first, second] = [template(...PROVIDERS), template(...PROVIDERS)];
      const secretOf = (objects: K8sObject[]) => objects.find((o) => o.kind === 'Secret')!.stringData!;
      const keys = ['JWT_SECRET', 'POSTGRES_PASSWORD', 'REDIS_PASSWORD', 'RABBITMQ_PASSWORD'];
      for (const key of keys) {
        expect(secretOf(first)[key], key).toMatch(/^[A-Za-z0-9]{40}$/);
        expect(secretOf(first)[key], `${key} is random`).not.toBe(secretOf(second)[key]);
      }
      expect(readFileSync(join(CHART, 'values.yaml'), 'utf8')).not.toMatch(
        /dev-secret-change-me|dev-graph-secret|dev-moodle-token|cupo-dev-password/,
      );
      // Passwords only in the Secret: no other object holds one inline.
      const elsewhere = JSON.stringify(first.filter((o) => o.kind !== 'Secret'));
      for (const key of keys) expect(elsewhere, key).not.toContain(secretOf(first)[key]);
      for (const object of first.filter((o) => o.kind === 'StatefulSet')) {
        for (const env of object.spec!.template.spec.containers.flatMap((c) => c.env ?? [])) {
          if (/PASS|AUTH/.test(env.name)) expect(env.valueFrom?.secretKeyRef, `${object.metadata.name} ${env.name}`).toBeDefined();
        }
      }
    });

    describe('kept across upgrades (helm’s lookup of the release’s Secret, against a stand-in Kubernetes API)', () => {
      let api: Server;
      let kubeconfig: string;
      const existing: Record<string, string> = {
        JWT_SECRET: 'the-jwt-secret-from-the-first-install',
        POSTGRES_PASSWORD: 'firstInstallPostgresPassword',
        REDIS_PASSWORD: 'firstInstallRedisPassword',
        RABBITMQ_PASSWORD: 'firstInstallRabbitPassword',
      };
      beforeAll(async () => {
        // Just what helm asks of a cluster for `helm template --dry-run=server`: the core
        // API's resource list and the GET of the Secret its `lookup` names.
        api = createServer((req, res) => {
          const reply = (status: number, body: unknown) =>
            res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
          const path = new URL(req.url!, 'http://api').pathname;
          if (path === '/api/v1')
            return reply(200, {
              kind: 'APIResourceList',
              groupVersion: 'v1',
              resources: [{ name: 'secrets', namespaced: true, kind: 'Secret', verbs: ['get'] }],
            });
          if (path === '/api/v1/namespaces/cupo/secrets/cupo-secrets') {
            const data = Object.fromEntries(Object.entries(existing).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
            return reply(200, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cupo-secrets', namespace: 'cupo' }, data });
          }
          reply(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
        });
        await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
        const { port } = api.address() as { port: number };
        kubeconfig = join(mkdtempSync(join(tmpdir(), 'cupo-kube-')), 'config');
        writeFileSync(
          kubeconfig,
          `apiVersion: v1
kind: Config
clusters: [{name: stand-in, cluster: {server: "http://127.0.0.1:${port}"}}]
users: [{name: stand-in, user: {}}]
contexts: [{name: stand-in, context: {cluster: stand-in, user: stand-in, namespace: cupo}}]
current-context: stand-in
`,
        );
      });
      afterAll(() => api?.close());

      it('renders the values the release’s Secret already holds, and a given value over them', async () => {
        // Asynchronously: the stand-in API answers from this process.
        const render = async (...args: string[]) => {
          const { stdout } = await promisify(execFile)(tool('helm'), [
            'template',
            'cupo',
            CHART,
            '--namespace',
            'cupo',
            '--kubeconfig',
            kubeconfig,
            '--dry-run=server',
            ...PROVIDERS,
            ...args,
          ]);
          return docs(stdout).find((o) => o.kind === 'Secret')!.stringData!;
        };
        expect(await render()).toMatchObject(existing);
        expect(await render('--set', 'secret.jwtSecret=a-new-secret-given-on-upgrade')).toMatchObject({
          ...existing,
          JWT_SECRET: 'a-new-secret-given-on-upgrade',
        });
        // A release from an earlier chart kept the public development secret: not kept again.
        existing.JWT_SECRET = 'dev-secret-change-me';
        expect((await render()).JWT_SECRET).toMatch(/^[A-Za-z0-9]{40}$/);
      });
    });

    it('has a values schema that refuses what the services refuse', async () => {
      const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
      const validate = new Ajv.default({ allErrors: true, strict: false }).compile(schema);
      // Values as YAML gives them: b's objects merged into a's, key by key; anything else replaces.
      type Values = Record<string, unknown>;
      const merge = (a: unknown, b: unknown): unknown =>
        b && typeof b === 'object' && !Array.isArray(b)
          ? Object.fromEntries(
              [...new Set([...Object.keys((a as Values) ?? {}), ...Object.keys(b)])].map((k) => [
                k,
                k in b ? merge((a as Values)?.[k], (b as Values)[k]) : (a as Values)[k],
              ]),
            )
          : b;
      const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
      const installable = merge(values, {
        secret: {
          graphClientSecret: 'graph-app-secret',
          moodleToken: 'moodle-ws-token',
          smtpUrl: 'smtps://mailer:pw@smtp.example.edu:465',
        },
      });
      expect(values.nodeEnv).toBe('production');
      expect(validate(installable), JSON.stringify(validate.errors)).toBe(true);
      for (const file of ['values-dev.yaml', 'values-production.yaml']) {
        const merged = merge(values, parse(readFileSync(join(CHART, file), 'utf8')));
        expect(validate(merged), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
      }
      expect(validate(values), 'provider credentials are required when the chart makes the Secret').toBe(false);
      expect(validate(merge(installable, { secret: { smtpUrl: '' } })), 'an empty SMTP_URL (the worker crash-looped on it)').toBe(false);
      expect(validate(merge(installable, { image: { tag: 'latest' } }))).toBe(false);
      expect(validate(merge(installable, { services: { booking: { replicas: 0 } } }))).toBe(false);
      expect(validate(merge(installable, { secret: { jwtSecret: 'short' } }))).toBe(false);
      expect(validate(merge(installable, { podDisruptionBudget: { maxUnavailable: 0 } }))).toBe(false);
      expect(
        validate(merge(installable, { bundled: { redis: { password: 'has@and/in-it-0123' } } })),
        'a password that would break its URL',
      ).toBe(false);
      const keda = (service: string, autoscaling: object) => merge(installable, { services: { [service]: { autoscaling } } });
      expect(validate(keda('enrollment', { keda: { enabled: true } })), JSON.stringify(validate.errors)).toBe(true);
      expect(validate(keda('worker', { keda: { enabled: true, readyMessagesPerReplica: 0 } }))).toBe(false);
      expect(
        validate(keda('enrollment', { enabled: false, keda: { enabled: true } })),
        'KEDA with autoscaling off would scale nothing',
      ).toBe(false);
      expect(validate(keda('booking', { keda: { enabled: true } })), 'booking consumes no job queue').toBe(false);

      // Each development default the services refuse in production, set in the values: the
      // schema refuses it too (under nodeEnv production), so helm stops before the pods would.
      const worker = await import(pathToFileURL(join(ROOT, 'services/worker/dist/config.js')).href);
      const gateway = await import(pathToFileURL(join(ROOT, 'services/gateway/dist/config.js')).href);
      const asValues: Record<string, [string[], string]> = {
        GRAPH_CLIENT_SECRET: [['secret', 'graphClientSecret'], worker.DEVELOPMENT_DEFAULTS.GRAPH_CLIENT_SECRET],
        MOODLE_TOKEN: [['secret', 'moodleToken'], worker.DEVELOPMENT_DEFAULTS.MOODLE_TOKEN],
        SMTP_URL: [['secret', 'smtpUrl'], worker.DEVELOPMENT_DEFAULTS.SMTP_URL],
        SIS_URL: [['onboarding', 'sisUrl'], worker.DEVELOPMENT_DEFAULTS.SIS_URL],
        GRAPH_URL: [['onboarding', 'graph', 'url'], worker.DEVELOPMENT_DEFAULTS.GRAPH_URL],
        GRAPH_LOGIN_URL: [['onboarding', 'graph', 'loginUrl'], worker.DEVELOPMENT_DEFAULTS.GRAPH_LOGIN_URL],
        MOODLE_URL: [['onboarding', 'moodle', 'url'], worker.DEVELOPMENT_DEFAULTS.MOODLE_URL],
        JWT_SECRET: [['secret', 'jwtSecret'], gateway.DEV_JWT_SECRET],
      };
      for (const [key, [path, devValue]] of Object.entries(asValues)) {
        const override = path.reduceRight<unknown>((inner, segment) => ({ [segment]: inner }), devValue) as Record<string, unknown>;
        expect(validate(merge(installable, override)), `${key} = ${devValue} in production`).toBe(false);
        expect(validate(merge(installable, { ...override, nodeEnv: 'development' })), `${key} = ${devValue} in development`).toBe(true);
      }
      // And helm itself applies it.
      expect(refusal('helm', ['template', 'cupo', CHART, ...PROVIDERS, '--set', 'secret.moodleToken=dev-moodle-token'])).toContain(
        'secret.moodleToken',
      );
    });
  });

  describe('bundled infrastructure', () => {
    const objects = VARIANTS['chart, default values']!.render();
    const named = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name)!;

    it('runs Redis with a password from the Secret, which its clients’ URLs carry', () => {
      const redis = named('StatefulSet', 'cupo-redis').spec!.template.spec.containers[0]!;
      expect(redis.args.join(' ')).toContain('--requirepass $(REDISCLI_AUTH)');
      expect(redis.env!.find((e) => e.name === 'REDISCLI_AUTH')!.valueFrom!.secretKeyRef).toEqual({
        name: 'cupo-secrets',
        key: 'REDIS_PASSWORD',
      });
      for (const service of ['gateway', 'booking', 'worker']) {
        const env = containerEnvironment(objects, containerOf(objects, service));
        const password = objects.find((o) => o.kind === 'Secret')!.stringData!.REDIS_PASSWORD;
        expect(new URL(env.REDIS_URL!).password, service).toBe(password);
      }
    });

    it('admits to each store only the Cupo pods that use it, on its client port (RabbitMQ’s management port stays closed)', () => {
      const pods = (name: string) =>
        objects.filter((o) => ['Deployment', 'Job'].includes(o.kind) && o.spec.template.metadata.labels['app.kubernetes.io/name'] === name);
      const admitted = (store: string) => {
        const policy = named('NetworkPolicy', `cupo-${store}`);
        expect(policy.spec.podSelector.matchLabels['app.kubernetes.io/name']).toBe(store);
        expect(policy.spec.ingress).toHaveLength(1);
        const [rule] = policy.spec.ingress;
        expect(rule.from).toHaveLength(1);
        expect(rule.from[0].namespaceSelector, 'this namespace only').toBeUndefined();
        return { ports: rule!.ports.map((p) => p.port), names: rule!.from[0]!.podSelector!.matchExpressions![0]!.values!.sort() };
      };
      expect(admitted('postgres')).toEqual({ ports: [5432], names: ['booking', 'enrollment', 'inventory', 'migrations', 'worker'] });
      expect(admitted('redis')).toEqual({ ports: [6379], names: ['booking', 'gateway', 'worker'] });
      expect(admitted('rabbitmq')).toEqual({ ports: [5672], names: ['booking', 'enrollment', 'gateway', 'inventory', 'worker'] });
      expect(pods('migrations')).toHaveLength(1);
    });
  });

  describe('scaling on queue depth (KEDA, opt-in)', () => {
    const kinds = (objects: K8sObject[], kind: string) =>
      objects
        .filter((o) => o.kind === kind)
        .map((o) => o.metadata.name)
        .sort();
    const CONSUMERS = ['cupo-enrollment', 'cupo-worker'];
    /** Each KEDA variant beside the same values without KEDA, whose HPAs it replaces. */
    const PAIRS = [
      { keda: 'chart, KEDA, bundled infrastructure', hpa: 'chart, default values' },
      { keda: 'chart, KEDA, production values', hpa: 'chart, production values' },
    ];

    it('is off by default: an HPA per service and no KEDA object, in the chart and in k8s/', () => {
      for (const variant of [
        'chart, default values',
        'chart, dev values',
        'chart, production values',
        'kustomize k8s/',
        'kustomize k8s/overlays/dev',
      ]) {
        const objects = VARIANTS[variant]!.render();
        expect(kinds(objects, 'HorizontalPodAutoscaler'), variant).toEqual([
          'cupo-booking',
          'cupo-enrollment',
          'cupo-gateway',
          'cupo-inventory',
          'cupo-worker',
        ]);
        expect(
          objects.filter((o) => o.apiVersion.startsWith('keda.sh/')),
          variant,
        ).toEqual([]);
      }
    });

    it('scales enrollment and worker on their job queues instead of their HPAs: the same floor, ceiling and CPU target, never to zero', async () => {
      const contracts = await import(pathToFileURL(join(ROOT, 'packages/contracts/dist/index.js')).href);
      const queueOf: Record<string, string> = {
        'cupo-enrollment': contracts.EnrollmentJobs.queue,
        'cupo-worker': contracts.WorkerJobs.queryQueue,
      };
      for (const pair of PAIRS) {
        const objects = VARIANTS[pair.keda]!.render();
        const replaced = VARIANTS[pair.hpa]!.render();
        expect(kinds(objects, 'HorizontalPodAutoscaler'), pair.keda).toEqual(['cupo-booking', 'cupo-gateway', 'cupo-inventory']);
        expect(kinds(objects, 'ScaledObject'), pair.keda).toEqual(CONSUMERS);
        for (const name of CONSUMERS) {
          const scaled = objects.find((o) => o.kind === 'ScaledObject' && o.metadata.name === name)!;
          const hpa = replaced.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === name)!;
          expect(scaled.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
          expect([scaled.spec.minReplicaCount, scaled.spec.maxReplicaCount], name).toEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas]);
          expect(scaled.spec.minReplicaCount, `${name} answers RPCs: never scaled to zero`).toBeGreaterThanOrEqual(1);
          expect(scaled.spec!.triggers.map((t) => ({ type: t.type, metricType: t.metricType, metadata: t.metadata }))).toEqual([
            { type: 'rabbitmq', metricType: undefined, metadata: { queueName: queueOf[name], mode: 'QueueLength', value: '20' } },
            { type: 'cpu', metricType: 'Utilization', metadata: { value: String(hpa.spec.metrics[0].resource.target.averageUtilization) } },
          ]);
          expect(deployment(objects, name.slice('cupo-'.length)).spec.replicas, `${name}: replicas belong to KEDA's HPA`).toBeUndefined();
        }
      }
    });

    it('lets the scaler reach RabbitMQ with the consumers’ own connection: their AMQP_URL, from the Secret', () => {
      for (const { keda: variant } of PAIRS) {
        const objects = VARIANTS[variant]!.render();
        const external = VARIANTS[variant]!.externalSecrets ? productionSecret : {};
        for (const name of CONSUMERS) {
          const scaled = objects.find((o) => o.kind === 'ScaledObject' && o.metadata.name === name)!;
          const container = containerOf(objects, name.slice('cupo-'.length));
          const consumers = containerEnvironment(objects, container, external).AMQP_URL;
          expect(consumers, name).toMatch(/^amqps?:\/\/[^:]+:[^@]+@/);
          for (const trigger of scaled.spec!.triggers.filter((t) => t.type === 'rabbitmq')) {
            const auth = objects.find((o) => o.kind === 'TriggerAuthentication' && o.metadata.name === trigger.authenticationRef.name)!;
            // As KEDA resolves it: a Secret's key, or the target container's env.
            const params: Record<string, string | undefined> = {};
            for (const ref of auth.spec.secretTargetRef ?? []) {
              const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === ref.name);
              params[ref.parameter] = secret ? secret.stringData?.[ref.key] : external[ref.key];
            }
            for (const ref of auth.spec.env ?? []) params[ref.parameter] = containerEnvironment(objects, container, external)[ref.name];
            expect(params, `${variant}: ${name}`).toEqual({ host: consumers });
            expect(trigger.metadata.host, 'no connection string in the ScaledObject').toBeUndefined();
          }
        }
      }
    });

    it('admits KEDA’s operator to the bundled RabbitMQ’s client port, only when KEDA is used', () => {
      const rabbitmqPeers = (variant: string) =>
        VARIANTS[variant]!.render().find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'cupo-rabbitmq')!.spec.ingress;
      const [rule, ...others] = rabbitmqPeers('chart, KEDA, bundled infrastructure');
      expect(others).toEqual([]);
      expect(rule.ports).toEqual([{ port: 5672, protocol: 'TCP' }]);
      expect(rule.from[1]).toEqual({
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } },
        podSelector: { matchLabels: { app: 'keda-operator' } },
      });
      expect(rabbitmqPeers('chart, default values')[0].from).toHaveLength(1);
    });
  });

  describe('kubernetes objects', () => {
    it('fits a 53-character release name (helm’s longest) into every name and label limit', () => {
      const release = 'a-release-name-of-fifty-three-characters-for-the-test';
      expect(release).toHaveLength(53);
      for (const values of [PROVIDERS, [...PROVIDERS, ...KEDA], ['-f', join(CHART, 'values-production.yaml')]]) {
        const objects = docs(run('helm', ['template', release, CHART, '--namespace', 'cupo', ...values]));
        const problems: string[] = [];
        const labelValues = (labels: Record<string, string> | undefined, where: string) => {
          for (const [key, value] of Object.entries(labels ?? {}))
            if (String(value).length > 63) problems.push(`${where}: label ${key} is ${String(value).length} characters`);
        };
        for (const object of objects) {
          const { kind, metadata } = object;
          const where = `${kind}/${metadata.name}`;
          const limit = kind === 'StatefulSet' ? 52 : 63; // pods get controller-revision-hash: <name>-<10 characters>
          if (metadata.name.length > limit) problems.push(`${where}: name is ${metadata.name.length} characters (limit ${limit})`);
          if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(metadata.name)) problems.push(`${where}: not a DNS label`);
          if (kind === 'Service' && !/^[a-z]/.test(metadata.name)) problems.push(`${where}: a Service name must start with a letter`);
          labelValues(metadata.labels, where);
          labelValues(object.spec?.template?.metadata?.labels, `${where} pod template`);
          labelValues(object.spec?.selector?.matchLabels ?? object.spec?.selector, `${where} selector`);
        }
        const ids = objects.map((o) => `${o.kind}/${o.metadata.name}`);
        expect(ids.length, 'no two objects of a kind share a truncated name').toBe(new Set(ids).size);
        expect(problems).toEqual([]);
        expect(referenceProblems(objects, { 'cupo-secrets': DOCUMENTED_SECRET_KEYS })).toEqual([]);
      }
    });

    it('lets a drain evict a pod whatever the replicas: one replica without an HPA, and the HPA floor', () => {
      const single = template(...PROVIDERS, '--set', 'services.booking.replicas=1', '--set', 'services.booking.autoscaling.enabled=false');
      expect(deployment(single, 'booking').spec.replicas, 'without an HPA the Deployment keeps its replicas').toBe(1);
      expect(referenceProblems(single)).toEqual([]);
      // The old production values: minAvailable 2 at the HPA's floor of 2.
      const old = single.map((o) =>
        o.kind === 'PodDisruptionBudget' ? { ...o, spec: { selector: o.spec.selector, minAvailable: 1 } } : o,
      );
      expect(referenceProblems(old)).toContain(
        'PodDisruptionBudget/cupo-booking: allows no eviction of Deployment/cupo-booking at 1 replica(s): node drains would hang',
      );
    });

    it('refuses a grace period too short for the gateway’s drain and shutdown', () => {
      expect(refusal('helm', ['template', 'cupo', CHART, ...PROVIDERS, '--set', 'terminationGracePeriodSeconds=15'])).toContain(
        'terminationGracePeriodSeconds (15) must leave at least 5 s',
      );
    });

    it('names the migrations Job by its spec, so a re-apply with new images creates a Job instead of patching an immutable one', () => {
      const jobOf = (objects: K8sObject[]) => objects.find((o) => o.kind === 'Job')!;
      const [a, b] = [jobOf(template(...PROVIDERS)), jobOf(template(...PROVIDERS))];
      expect(a.metadata.name).toMatch(/^cupo-migrations-[0-9a-f]{10}$/);
      expect(b.metadata.name, 'an unchanged spec keeps its name (re-applies as unchanged)').toBe(a.metadata.name);
      expect(jobOf(template(...PROVIDERS, '--set', 'image.tag=0.2.0')).metadata.name).not.toBe(a.metadata.name);
      expect(a.spec.ttlSecondsAfterFinished).toBeGreaterThan(0);
      const hook = jobOf(template('-f', join(CHART, 'values-production.yaml')));
      expect(hook.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
      expect(hook.spec.activeDeadlineSeconds, 'gives up before helm’s default 5 min wait does').toBeLessThan(300);
      expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toMatch(/--timeout/);
    });

    it('runs migrations as a hook before install and upgrade when the infrastructure is external', () => {
      const objects = VARIANTS['chart, production values']!.render();
      expect(objects.some((o) => o.kind === 'StatefulSet')).toBe(false);
      expect(objects.filter((o) => o.kind === 'ServiceMonitor')).toHaveLength(5);
      expect(objects.filter((o) => o.kind === 'PrometheusRule')).toHaveLength(1);
    });

    it('scrapes the ops port under a ServiceMonitor, keeping the application’s `service` label', () => {
      for (const monitor of VARIANTS['chart, production values']!.render().filter((o) => o.kind === 'ServiceMonitor')) {
        for (const endpoint of monitor.spec.endpoints) expect(endpoint).toMatchObject({ port: 'ops', path: '/metrics', honorLabels: true });
      }
    });
  });

  describe('the strict check itself', () => {
    const objects = VARIANTS['chart, default values']!.render();
    const pristine = () => structuredClone(objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'cupo-gateway')!);
    const monitor = () => structuredClone(VARIANTS['chart, production values']!.render().find((o) => o.kind === 'ServiceMonitor')!);
    const scaledObject = () =>
      structuredClone(VARIANTS['chart, KEDA, bundled infrastructure']!.render().find((o) => o.kind === 'ScaledObject')!);

    it('passes the rendered objects as they are', () => {
      expect(schemaProblems(pristine())).toEqual([]);
      expect(schemaProblems(monitor())).toEqual([]);
      expect(schemaProblems(scaledObject())).toEqual([]);
    });

    it('fails a misspelled field at any depth', () => {
      const probe = pristine();
      probe.spec.template.spec.containers[0].livenessProbe.initialDelaySecond = 5;
      expect(schemaProblems(probe)).toEqual([
        expect.stringMatching(
          /^Deployment\/cupo-gateway: spec\.template\.spec\.containers\[0\]\.livenessProbe\.initialDelaySecond: unknown field \(V1Probe/,
        ),
      ]);
      const security = pristine();
      security.spec.template.spec.containers[0].securityContext.runAsNonroot = true;
      expect(schemaProblems(security)).toEqual([expect.stringContaining('securityContext.runAsNonroot: unknown field (V1SecurityContext')]);
      const misplaced = pristine();
      misplaced.spec.template.spec.containers[0].terminationGracePeriodSeconds = 30; // belongs to the pod
      expect(schemaProblems(misplaced)).toEqual([
        expect.stringContaining('containers[0].terminationGracePeriodSeconds: unknown field (V1Container'),
      ]);
      const crd = monitor();
      crd.spec.endpoints[0].honorLabel = true;
      expect(schemaProblems(crd)).toEqual([expect.stringContaining('spec.endpoints.0.honorLabel: unknown field')]);
      const scaled = scaledObject();
      scaled.spec.minReplicas = 2; // KEDA's is minReplicaCount
      expect(schemaProblems(scaled)).toEqual([expect.stringContaining('ScaledObject/cupo-enrollment: spec.minReplicas: unknown field')]);
      const metadata = scaledObject();
      metadata.spec.triggers[0].metadata.value = 20; // KEDA's trigger metadata is strings
      expect(schemaProblems(metadata)).toEqual([expect.stringContaining('spec.triggers.0.metadata.value: must be string')]);
    });

    it('fails a wrong type', () => {
      const replicas = pristine();
      replicas.spec.revisionHistoryLimit = '5';
      expect(schemaProblems(replicas)).toEqual(['Deployment/cupo-gateway: spec.revisionHistoryLimit: expected a number, got "5"']);
      const port = pristine();
      port.spec.template.spec.containers[0].ports[0].containerPort = 80.5;
      expect(schemaProblems(port)).toEqual([expect.stringContaining('ports[0].containerPort: expected an integer')]);
      const crd = monitor();
      crd.spec.endpoints[0].honorLabels = 'true';
      expect(schemaProblems(crd)).toEqual([expect.stringContaining('spec.endpoints.0.honorLabels: must be boolean')]);
    });

    it('fails a dangling reference: an unnamed port, a missing Secret key, an undefined $(VAR), a selector that selects nothing', () => {
      const broken = structuredClone(objects);
      const gateway = broken.find((o) => o.kind === 'Deployment' && o.metadata.name === 'cupo-gateway')!.spec!.template.spec.containers[0]!;
      gateway.readinessProbe.httpGet.port = 'metrics';
      gateway.env!.find((e) => e.name === 'JWT_SECRET')!.valueFrom!.secretKeyRef!.key = 'JWT_KEY';
      gateway.env = gateway.env!.filter((e) => e.name !== 'REDIS_PASSWORD');
      broken.find((o) => o.kind === 'Service' && o.metadata.name === 'cupo-booking')!.spec.selector['app.kubernetes.io/name'] = 'bookings';
      expect(referenceProblems(broken).sort()).toEqual([
        'Deployment/cupo-gateway container gateway: env JWT_SECRET reads key JWT_KEY, which Secret cupo-secrets does not have',
        'Deployment/cupo-gateway container gateway: env REDIS_URL uses $(REDIS_PASSWORD), not defined before it (Kubernetes would pass it literally)',
        'Deployment/cupo-gateway container gateway: readinessProbe port "metrics" names no port of the container',
        'Service/cupo-booking: its selector selects no pod template',
      ]);
    });

    it('fails KEDA objects that point at nothing, or scale what an HPA also scales', () => {
      for (const variant of ['chart, KEDA, bundled infrastructure', 'chart, KEDA, production values']) {
        const broken = VARIANTS[variant]!.render();
        const auth = (name: string) => broken.find((o) => o.kind === 'TriggerAuthentication' && o.metadata.name === name)!;
        if (variant.includes('bundled')) auth('cupo-enrollment-rabbitmq').spec.env[0].name = 'RABBITMQ_URL';
        else auth('cupo-enrollment-rabbitmq').spec.secretTargetRef[0].key = 'RABBITMQ_URL';
        broken.find((o) => o.kind === 'ScaledObject' && o.metadata.name === 'cupo-worker')!.spec.triggers[0].authenticationRef.name =
          'cupo-rabbitmq';
        const hpa = structuredClone(broken.find((o) => o.kind === 'HorizontalPodAutoscaler')!);
        hpa.metadata.name = hpa.spec.scaleTargetRef.name = 'cupo-enrollment';
        broken.push(hpa);
        expect(referenceProblems(broken, VARIANTS[variant]!.externalSecrets).sort()).toEqual(
          [
            'HorizontalPodAutoscaler/cupo-enrollment and ScaledObject/cupo-enrollment both scale Deployment/cupo-enrollment',
            variant.includes('bundled')
              ? 'TriggerAuthentication/cupo-enrollment-rabbitmq: host reads env RABBITMQ_URL, which container enrollment of Deployment/cupo-enrollment does not define'
              : 'TriggerAuthentication/cupo-enrollment-rabbitmq: host reads key RABBITMQ_URL, which Secret cupo-secrets does not have',
            'ScaledObject/cupo-worker: trigger rabbitmq uses TriggerAuthentication/cupo-rabbitmq, which does not exist',
          ].sort(),
        );
      }
    });
  });

  describe('k8s/ (kubectl apply -k)', () => {
    it('is the chart rendered (k8s/base/cupo.yaml), with no secret in it', () => {
      const committed = readFileSync(join(ROOT, 'k8s/base/cupo.yaml'), 'utf8');
      expect(committed === renderK8s(tool('helm'), ROOT.replace(/\/$/, '')), 'k8s/base/cupo.yaml is stale: run `make k8s`').toBe(true);
      expect(docs(committed).filter((o) => o.kind === 'Secret')).toEqual([]);
    });

    it('will not build without a generated secrets.env, and generate-secrets.sh wants the provider credentials and keeps an existing file', () => {
      const dir = mkdtempSync(join(tmpdir(), 'cupo-k8s-bare-'));
      try {
        cpSync(join(ROOT, 'k8s'), join(dir, 'k8s'), { recursive: true, filter: (src) => !src.endsWith('secrets.env') });
        expect(refusal('kubectl', ['kustomize', join(dir, 'k8s')])).toContain('secrets.env');
        const generate = (args: string[], env: Record<string, string> = {}) =>
          spawnSync(join(ROOT, 'k8s/generate-secrets.sh'), args, {
            encoding: 'utf8',
            env: { PATH: process.env.PATH, SECRETS_ENV: join(dir, 'k8s/base/secrets.env'), ...env },
          });
        expect(generate([]).stderr).toContain('set GRAPH_CLIENT_SECRET MOODLE_TOKEN SMTP_URL');
        expect(existsSync(join(dir, 'k8s/base/secrets.env'))).toBe(false);
        expect(generate(['--development']).status).toBe(0);
        const first = readFileSync(join(dir, 'k8s/base/secrets.env'), 'utf8');
        expect(first).toMatch(/^POSTGRES_PASSWORD=[A-Za-z0-9]{40}$/m);
        expect(generate(['--development']).stderr).toContain('keeping it');
        expect(readFileSync(join(dir, 'k8s/base/secrets.env'), 'utf8')).toBe(first);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('points the dev overlay at the local image of every service, the worker’s included, in development mode', () => {
      const objects = VARIANTS['kustomize k8s/overlays/dev']!.render();
      const images = objects
        .flatMap((o) => [...(o.spec?.template?.spec?.containers ?? []), ...(o.spec?.template?.spec?.initContainers ?? [])])
        .map((c) => c.image!);
      expect(
        images.filter((image) => image.includes('/cupo/') || image.startsWith('cupo/')).every((image) => /^cupo\/[a-z]+:dev$/.test(image)),
        images.join(', '),
      ).toBe(true);
      expect(images).toContain('cupo/worker:dev');
      expect(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'cupo-config')!.data!.NODE_ENV).toBe('development');
    });
  });

  it('has alert rules that promtool accepts', () => {
    expect(run('promtool', ['check', 'rules', join(CHART, 'files/alerts.yml')])).toMatch(/SUCCESS: 6 rules found/);
  });
});
