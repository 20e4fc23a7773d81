import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import Ajv, { type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

/**
 * The strict offline check of rendered manifests: what a real API server would refuse or
 * silently drop, found without one.
 *
 * - `schemaProblems`: every field, at every depth, is one the Kubernetes API knows for that
 *   object, with the right type — from @kubernetes/client-node's generated models (each class
 *   lists its fields and their types). kubernetes-models' JSON schemas leave objects open, so
 *   a misspelled `initialDelaySecond` passed them and a real server would drop it unnoticed.
 *   Prometheus Operator and KEDA objects are checked against their projects' own CRD schemas
 *   (tools/deploy/crds), closed the way the API server's pruning closes them.
 * - `referenceProblems`: what no schema sees — selectors that select nothing, named ports that
 *   name nothing, Secret keys and ConfigMaps that do not exist, `$(VAR)`s never defined,
 *   PodDisruptionBudgets that allow no eviction, a ScaledObject whose target, connection or
 *   environment is not there, or whose target an HPA of the chart's also scales.
 */

/** A label selector; a Service's is a plain map of labels, read by label (`selects` reads both). */
export type LabelSelector = Selector & { [label: string]: unknown };

/** A named or numbered port, as Services, NetworkPolicies and probes give them. */
type PortRef = number | string;

/**
 * The spec of a manifest of any kind these files render, as the checks read it: each field is
 * there for the kinds that have it (a Deployment's template, a Service's ports, a ScaledObject's
 * triggers, …). Unknown fields stay readable (`schemaProblems` is what refuses them); the pod
 * template's spec is client-node's own type.
 */
export interface ManifestSpec {
  [field: string]: unknown;
  // Deployment, StatefulSet, Job
  template: { metadata: { labels: Record<string, string> }; spec: V1PodSpec };
  replicas?: number;
  strategy: { type: string };
  serviceName: string;
  revisionHistoryLimit?: number;
  ttlSecondsAfterFinished?: number;
  activeDeadlineSeconds?: number;
  // Deployment, Service, PodDisruptionBudget, ServiceMonitor
  selector: LabelSelector;
  // Service
  ports: { name?: string; port: number; targetPort?: PortRef }[];
  clusterIP?: string;
  // NetworkPolicy
  podSelector: LabelSelector;
  ingress: {
    ports: { port: PortRef }[];
    from: { podSelector?: LabelSelector; namespaceSelector?: LabelSelector }[];
  }[];
  // HorizontalPodAutoscaler, ScaledObject
  scaleTargetRef: { apiVersion?: string; kind?: string; name: string };
  minReplicas?: number;
  maxReplicas?: number;
  metrics: { resource: { target: { averageUtilization: number } } }[];
  minReplicaCount?: number;
  maxReplicaCount?: number;
  triggers: { type: string; metricType?: string; metadata: Record<string, string>; authenticationRef?: { kind?: string; name: string } }[];
  // TriggerAuthentication
  secretTargetRef: { parameter: string; name: string; key: string }[];
  env: { parameter: string; name: string; containerName?: string }[];
  // PodDisruptionBudget
  maxUnavailable?: PortRef;
  minAvailable?: PortRef;
  // ServiceMonitor
  endpoints: { port: string; path?: string; honorLabels?: boolean; [field: string]: unknown }[];
}

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: ManifestSpec;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [key: string]: unknown;
};

type Attribute = { name: string; baseName: string; type: string; format: string };
type Model = { getAttributeTypeMap(): Attribute[] };

const models = k8s as unknown as Record<string, Model | undefined>;

/** Fields whose OpenAPI type is resource.Quantity, an int-or-string the models type as string. */
const QUANTITIES = new Set([
  'V1ResourceRequirements.limits',
  'V1ResourceRequirements.requests',
  'V1VolumeResourceRequirements.limits',
  'V1VolumeResourceRequirements.requests',
  'V1EmptyDirVolumeSource.sizeLimit',
]);

/** The client-node class of a built-in object: apps/v1 Deployment → V1Deployment. */
function modelName(apiVersion: string, kind: string): string {
  const version = apiVersion.split('/').at(-1)!;
  return `V${version.slice(1)}${kind}`;
}

function checkValue(value: unknown, type: string, format: string, path: string, problems: string[], quantity = false): void {
  if (value === null || type === 'any') return; // null is "absent" to the API server
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return void problems.push(`${path}: expected an array, got ${JSON.stringify(value)}`);
    value.forEach((item, i) => checkValue(item, array[1]!, format, `${path}[${i}]`, problems));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value !== 'object' || Array.isArray(value))
      return void problems.push(`${path}: expected a map, got ${JSON.stringify(value)}`);
    for (const [key, item] of Object.entries(value as object)) checkValue(item, map[1]!, format, `${path}.${key}`, problems, quantity);
    return;
  }
  switch (type) {
    case 'string':
      if (typeof value === 'string' || (quantity && typeof value === 'number')) return;
      return void problems.push(`${path}: expected a string, got ${JSON.stringify(value)}`);
    case 'Date':
      if (typeof value === 'string') return;
      return void problems.push(`${path}: expected a date string, got ${JSON.stringify(value)}`);
    case 'boolean':
      if (typeof value === 'boolean') return;
      return void problems.push(`${path}: expected a boolean, got ${JSON.stringify(value)}`);
    case 'number':
      if (typeof value !== 'number') return void problems.push(`${path}: expected a number, got ${JSON.stringify(value)}`);
      if (/^int(32|64)$/.test(format) && !Number.isInteger(value)) problems.push(`${path}: expected an integer, got ${value}`);
      return;
    case 'IntOrString':
      if (typeof value === 'string' || Number.isInteger(value)) return;
      return void problems.push(`${path}: expected an integer or a string, got ${JSON.stringify(value)}`);
    default: {
      const model = models[type];
      if (!model?.getAttributeTypeMap) return void problems.push(`${path}: no model ${type}`);
      if (typeof value !== 'object' || Array.isArray(value))
        return void problems.push(`${path}: expected an object (${type}), got ${JSON.stringify(value)}`);
      const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a]));
      for (const [key, item] of Object.entries(value as object)) {
        const attribute = attributes.get(key);
        if (!attribute) {
          problems.push(`${path}.${key}: unknown field (${type} has ${[...attributes.keys()].join(', ')})`);
          continue;
        }
        checkValue(item, attribute.type, attribute.format, `${path}.${key}`, problems, QUANTITIES.has(`${type}.${key}`));
      }
    }
  }
}

/** A CRD's schema as the API server applies it: unknown fields are not kept, so they fail here. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [k, k === 'enum' || k === 'required' ? v : closed(v)]),
  );
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields']) {
    out.additionalProperties = false;
  }
  if (out['x-kubernetes-int-or-string']) out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  return out;
}

const CRD_DIR = join(import.meta.dirname, '../../tools/deploy/crds');
let crdValidators: Map<string, ValidateFunction> | undefined;

function crdValidator(apiVersion: string, kind: string): ValidateFunction | undefined {
  if (!crdValidators) {
    crdValidators = new Map();
    // The CRDs' patterns are Go regular expressions; `(?i)` is their only syntax JavaScript lacks.
    const goRegExp = (pattern: string, flags: string) =>
      pattern.includes('(?i)') ? new RegExp(pattern.replaceAll('(?i)', ''), `${flags}i`) : new RegExp(pattern, flags);
    const ajv = new Ajv.default({
      allErrors: true,
      strict: false,
      validateFormats: false,
      code: { regExp: Object.assign(goRegExp, { code: 'goRegExp' }) },
    });
    for (const file of readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml'))) {
      const crd = parse(readFileSync(join(CRD_DIR, file), 'utf8'));
      for (const version of crd.spec.versions) {
        const schema = closed(version.schema.openAPIV3Schema) as { properties: Record<string, unknown> };
        delete schema.properties.metadata; // checked against ObjectMeta below
        crdValidators.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, ajv.compile(schema));
      }
    }
  }
  return crdValidators.get(`${apiVersion}/${kind}`);
}

/** API groups whose objects are defined by a CRD in tools/deploy/crds, not by Kubernetes. */
export const CRD_GROUPS = ['monitoring.coreos.com', 'keda.sh'];

/** Every unknown field and wrong type in one object, as `Kind/name: path: problem`. */
export function schemaProblems(object: K8sObject): string[] {
  const problems: string[] = [];
  const where = `${object.kind}/${object.metadata?.name}`;
  if (CRD_GROUPS.some((group) => object.apiVersion?.startsWith(`${group}/`))) {
    const validate = crdValidator(object.apiVersion, object.kind);
    if (!validate) return [`${where}: no CRD schema for ${object.apiVersion} ${object.kind}`];
    const { metadata, ...rest } = object;
    if (!validate(rest)) {
      for (const e of validate.errors ?? []) {
        const extra =
          e.keyword === 'additionalProperties'
            ? `.${(e.params as { additionalProperty: string }).additionalProperty}: unknown field`
            : `: ${e.message}`;
        problems.push(`${where}: ${e.instancePath.replaceAll('/', '.').slice(1)}${extra}`);
      }
    }
    checkValue(metadata, 'V1ObjectMeta', '', 'metadata', problems);
    return problems.map((p) => (p.startsWith(where) ? p : `${where}: ${p}`));
  }
  const name = modelName(object.apiVersion, object.kind);
  if (!models[name]?.getAttributeTypeMap) return [`${where}: no Kubernetes model ${name} for ${object.apiVersion} ${object.kind}`];
  checkValue(object, name, '', '', problems);
  return problems.map((p) => `${where}: ${p.replace(/^\./, '')}`);
}

// ---------------------------------------------------------------------------------------
// References between objects.

type Selector = { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };

export function selects(selector: Selector | Record<string, string> | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return false;
  const s: Selector =
    'matchLabels' in selector || 'matchExpressions' in selector
      ? (selector as Selector)
      : { matchLabels: selector as Record<string, string> };
  const byLabels = Object.entries(s.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (s.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    switch (operator) {
      case 'In':
        return key in labels && values.includes(labels[key]!);
      case 'NotIn':
        return !(key in labels) || !values.includes(labels[key]!);
      case 'Exists':
        return key in labels;
      case 'DoesNotExist':
        return !(key in labels);
      default:
        return false;
    }
  });
  return byLabels && byExpressions;
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'Job', 'DaemonSet']);

type PodTemplate = { owner: K8sObject; labels: Record<string, string>; spec: Partial<V1PodSpec> };

function podTemplates(objects: K8sObject[]): PodTemplate[] {
  return objects
    .filter((o) => WORKLOADS.has(o.kind))
    .map((o) => ({ owner: o, labels: o.spec?.template?.metadata?.labels ?? {}, spec: o.spec?.template?.spec ?? {} }));
}

const containersOf = (pod: Partial<V1PodSpec>): V1Container[] => [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
const portNames = (pod: Partial<V1PodSpec>): Set<string | undefined> =>
  new Set(containersOf(pod).flatMap((c) => (c.ports ?? []).map((p) => p.name)));

/**
 * Problems no schema sees. `externalSecrets` lists the keys of Secrets the manifests use but
 * do not contain (secret.existingSecret), by name: a key referenced but not listed there fails.
 */
export function referenceProblems(objects: K8sObject[], externalSecrets: Record<string, string[]> = {}): string[] {
  const problems: string[] = [];
  const pods = podTemplates(objects);
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  const id = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
  // Keyed by name as client-node types a reference's (optional: Kubernetes defaults it to "").
  const secretKeys = new Map<string | undefined, Set<string>>(Object.entries(externalSecrets).map(([n, keys]) => [n, new Set(keys)]));
  for (const s of of('Secret'))
    secretKeys.set(s.metadata.name, new Set([...Object.keys(s.data ?? {}), ...Object.keys(s.stringData ?? {})]));
  const configMaps = new Map<string | undefined, Set<string>>(
    of('ConfigMap').map((c) => [c.metadata.name, new Set(Object.keys(c.data ?? {}))]),
  );
  const selected = (selector: LabelSelector | undefined) => pods.filter((p) => selects(selector, p.labels));

  for (const { owner, labels, spec } of pods) {
    const where = id(owner);
    if (owner.kind !== 'Job' && !selects(owner.spec?.selector, labels))
      problems.push(`${where}: spec.selector does not select its own pod template`);
    for (const container of containersOf(spec)) {
      const at = `${where} container ${container.name}`;
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
        const port = container[probe]?.httpGet?.port ?? container[probe]?.tcpSocket?.port;
        if (typeof port === 'string' && !(container.ports ?? []).some((p) => p.name === port))
          problems.push(`${at}: ${probe} port "${port}" names no port of the container`);
      }
      const defined = new Set<string>();
      for (const env of container.env ?? []) {
        for (const [, ref] of String(env.value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
          if (!defined.has(ref!))
            problems.push(`${at}: env ${env.name} uses $(${ref}), not defined before it (Kubernetes would pass it literally)`);
        }
        defined.add(env.name);
        // An in-cluster short host name in a URL (postgres://…@cupo-postgres:5432) must be a
        // Service here: truncated names must still meet.
        const host = /^[a-z]+:\/\/(?:[^@/]*@)?([a-z0-9-]+):\d+/.exec(String(env.value ?? ''))?.[1];
        if (host && host !== 'localhost' && !of('Service').some((s) => s.metadata.name === host))
          problems.push(`${at}: env ${env.name} points at host ${host}, which is no Service`);
        const secretRef = env.valueFrom?.secretKeyRef;
        if (secretRef) {
          const keys = secretKeys.get(secretRef.name);
          if (!keys) problems.push(`${at}: env ${env.name} reads Secret ${secretRef.name}, which does not exist`);
          else if (!keys.has(secretRef.key) && !secretRef.optional)
            problems.push(`${at}: env ${env.name} reads key ${secretRef.key}, which Secret ${secretRef.name} does not have`);
        }
        const configRef = env.valueFrom?.configMapKeyRef;
        if (configRef && !configMaps.get(configRef.name)?.has(configRef.key))
          problems.push(`${at}: env ${env.name} reads ConfigMap ${configRef.name} key ${configRef.key}, which does not exist`);
      }
      for (const from of container.envFrom ?? []) {
        if (from.configMapRef && !configMaps.has(from.configMapRef.name))
          problems.push(`${at}: envFrom ConfigMap ${from.configMapRef.name} does not exist`);
        if (from.secretRef && !secretKeys.has(from.secretRef.name))
          problems.push(`${at}: envFrom Secret ${from.secretRef.name} does not exist`);
      }
    }
    for (const volume of spec.volumes ?? []) {
      if (volume.configMap && !configMaps.has(volume.configMap.name))
        problems.push(`${where}: volume ${volume.name} mounts ConfigMap ${volume.configMap.name}, which does not exist`);
      if (volume.secret && !secretKeys.has(volume.secret.secretName))
        problems.push(`${where}: volume ${volume.name} mounts Secret ${volume.secret.secretName}, which does not exist`);
    }
    if (owner.kind === 'StatefulSet') {
      const governing = of('Service').find((s) => s.metadata.name === owner.spec!.serviceName);
      if (!governing) problems.push(`${where}: serviceName ${owner.spec!.serviceName} names no Service`);
      else if (governing.spec?.clusterIP !== 'None')
        problems.push(`${where}: its governing Service ${governing.metadata.name} is not headless`);
    }
  }

  for (const service of of('Service')) {
    const targets = selected(service.spec?.selector);
    if (targets.length === 0) {
      problems.push(`${id(service)}: its selector selects no pod template`);
      continue;
    }
    for (const port of service.spec?.ports ?? []) {
      if (typeof port.targetPort === 'string') {
        for (const target of targets)
          if (!portNames(target.spec).has(port.targetPort))
            problems.push(`${id(service)}: targetPort "${port.targetPort}" names no port of ${id(target.owner)}`);
      }
    }
  }

  for (const policy of of('NetworkPolicy')) {
    const targets = selected(policy.spec?.podSelector);
    if (targets.length === 0) problems.push(`${id(policy)}: its podSelector selects no pod template`);
    for (const rule of policy.spec?.ingress ?? []) {
      for (const port of rule.ports ?? []) {
        if (typeof port.port === 'string') {
          for (const target of targets)
            if (!portNames(target.spec).has(port.port))
              problems.push(`${id(policy)}: port "${port.port}" names no port of ${id(target.owner)}`);
        }
      }
      for (const peer of rule.from ?? []) {
        // A peer in this namespace (no namespaceSelector) must be pods of these manifests: a
        // selector matching none of them admits nobody, and the service it guards is cut off.
        if (peer.podSelector && !peer.namespaceSelector && selected(peer.podSelector).length === 0)
          problems.push(`${id(policy)}: a "from" podSelector selects no pod template`);
        for (const expression of peer.podSelector?.matchExpressions ?? []) {
          if (peer.namespaceSelector || expression.operator !== 'In') continue;
          for (const value of expression.values ?? []) {
            if (!pods.some((p) => p.labels[expression.key] === value))
              problems.push(`${id(policy)}: admits ${expression.key}=${value}, which no pod template has`);
          }
        }
      }
    }
  }

  const hpas = of('HorizontalPodAutoscaler');
  for (const hpa of hpas) {
    const target = objects.find((o) => o.kind === hpa.spec!.scaleTargetRef.kind && o.metadata.name === hpa.spec!.scaleTargetRef.name);
    if (!target)
      problems.push(`${id(hpa)}: scaleTargetRef ${hpa.spec!.scaleTargetRef.kind}/${hpa.spec!.scaleTargetRef.name} does not exist`);
    else if (target.spec?.replicas !== undefined)
      problems.push(`${id(target)}: sets spec.replicas while ${id(hpa)} manages it (every apply would reset the HPA's count)`);
  }

  // KEDA: a ScaledObject becomes an HPA of KEDA's making, so the same rules hold, and two HPAs
  // on one Deployment would fight over its replicas. Its triggers' connections must resolve the
  // way KEDA resolves them: a Secret key that exists, or an env var of the target's container.
  const scaledObjects = of('ScaledObject');
  for (const scaled of scaledObjects) {
    const ref = scaled.spec!.scaleTargetRef;
    const target = objects.find((o) => o.kind === (ref.kind ?? 'Deployment') && o.metadata.name === ref.name);
    if (!target) {
      problems.push(`${id(scaled)}: scaleTargetRef ${ref.kind ?? 'Deployment'}/${ref.name} does not exist`);
      continue;
    }
    if (target.spec?.replicas !== undefined)
      problems.push(`${id(target)}: sets spec.replicas while ${id(scaled)} manages it (every apply would reset KEDA's count)`);
    for (const hpa of hpas.filter((h) => h.spec!.scaleTargetRef.name === ref.name))
      problems.push(`${id(hpa)} and ${id(scaled)} both scale ${id(target)}`);
    for (const trigger of scaled.spec!.triggers ?? []) {
      const authRef = trigger.authenticationRef;
      if (!authRef) continue;
      const auth = objects.find((o) => o.kind === (authRef.kind ?? 'TriggerAuthentication') && o.metadata.name === authRef.name);
      if (!auth) {
        problems.push(
          `${id(scaled)}: trigger ${trigger.type} uses ${authRef.kind ?? 'TriggerAuthentication'}/${authRef.name}, which does not exist`,
        );
        continue;
      }
      for (const ref of auth.spec!.secretTargetRef ?? []) {
        const keys = secretKeys.get(ref.name);
        if (!keys) problems.push(`${id(auth)}: ${ref.parameter} reads Secret ${ref.name}, which does not exist`);
        else if (!keys.has(ref.key))
          problems.push(`${id(auth)}: ${ref.parameter} reads key ${ref.key}, which Secret ${ref.name} does not have`);
      }
      for (const ref of auth.spec!.env ?? []) {
        const containers: V1Container[] = target.spec!.template.spec.containers ?? [];
        const container = ref.containerName ? containers.find((c) => c.name === ref.containerName) : containers[0];
        if (!container)
          problems.push(`${id(auth)}: ${ref.parameter} reads container ${ref.containerName} of ${id(target)}, which it does not have`);
        else if (
          !(container.env ?? []).some((e) => e.name === ref.name) &&
          !(container.envFrom ?? []).some((f) => configMaps.get(f.configMapRef?.name)?.has(ref.name))
        )
          problems.push(
            `${id(auth)}: ${ref.parameter} reads env ${ref.name}, which container ${container.name} of ${id(target)} does not define`,
          );
      }
    }
  }

  for (const pdb of of('PodDisruptionBudget')) {
    const targets = selected(pdb.spec?.selector).filter((p) => p.owner.kind !== 'Job');
    if (targets.length === 0) {
      problems.push(`${id(pdb)}: its selector selects no pod template`);
      continue;
    }
    for (const target of targets) {
      const hpa = hpas.find((h) => h.spec!.scaleTargetRef.name === target.owner.metadata.name);
      const scaled = scaledObjects.find((o) => o.spec!.scaleTargetRef.name === target.owner.metadata.name);
      // KEDA's floor defaults to 0.
      const fewest: number = hpa
        ? (hpa.spec!.minReplicas ?? 1)
        : scaled
          ? (scaled.spec!.minReplicaCount ?? 0)
          : (target.owner.spec?.replicas ?? 1);
      const { maxUnavailable, minAvailable } = pdb.spec!;
      const allowed =
        maxUnavailable !== undefined
          ? typeof maxUnavailable === 'number'
            ? maxUnavailable
            : Math.ceil((fewest * parseInt(maxUnavailable, 10)) / 100)
          : fewest - (typeof minAvailable === 'number' ? minAvailable : Math.ceil((fewest * parseInt(minAvailable, 10)) / 100));
      if (!(allowed >= 1))
        problems.push(`${id(pdb)}: allows no eviction of ${id(target.owner)} at ${fewest} replica(s): node drains would hang`);
    }
  }

  for (const monitor of of('ServiceMonitor')) {
    const services = of('Service').filter((s) => selects(monitor.spec?.selector, s.metadata.labels ?? {}));
    for (const endpoint of monitor.spec?.endpoints ?? []) {
      if (!services.some((s) => (s.spec?.ports ?? []).some((p) => p.name === endpoint.port)))
        problems.push(`${id(monitor)}: endpoint port "${endpoint.port}" is on no Service it selects`);
    }
  }
  return problems;
}
