import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { externalTool, lacking } from '@cupo/stack';

/**
 * Where traces go once deployed (issue 15.4): compose runs an OpenTelemetry Collector and Jaeger
 * with Grafana's Jaeger datasource, and points every service at the collector; the chart takes
 * the endpoint as a value (off by default) and hands it to every service.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const SERVICES = ['gateway', 'inventory', 'booking', 'enrollment', 'worker'];

describe('compose: collector, Jaeger and Grafana’s datasource', () => {
  interface ComposeService {
    image?: string;
    command: string[];
    volumes: string[];
    environment: Record<string, string>;
  }
  const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };

  it('points every service at the collector, which passes spans on to Jaeger', () => {
    const collector = compose.services['otel-collector']!;
    expect(collector?.image).toMatch(/^otel\/opentelemetry-collector/);
    for (const service of SERVICES) {
      expect(compose.services[service]!.environment.OTEL_EXPORTER_OTLP_ENDPOINT, service).toBe('http://otel-collector:4318');
    }
    const mount = collector.volumes.find((v) => v.startsWith('./deploy/otel-collector/'))!;
    const [source, target] = mount.split(':');
    expect(collector.command.join(' ')).toContain(`--config=${target}`);
    const config = parse(read(source!.slice(2)));
    expect(config.receivers.otlp.protocols.http.endpoint).toBe('0.0.0.0:4318');
    const pipeline = config.service.pipelines.traces;
    expect(pipeline.receivers).toEqual(['otlp']);
    const [exporter] = pipeline.exporters as string[];
    expect(config.exporters[exporter!].endpoint).toBe('jaeger:4317');
    expect(compose.services.jaeger?.image).toMatch(/^jaegertracing\//);
  });

  it('provisions Grafana with a Jaeger datasource on the compose Jaeger', () => {
    const grafana = compose.services.grafana!;
    expect(grafana.volumes).toContain('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro');
    const { datasources } = parse(read('deploy/grafana/provisioning/datasources/jaeger.yml'));
    expect(datasources).toEqual([expect.objectContaining({ type: 'jaeger', uid: 'jaeger', url: 'http://jaeger:16686' })]);
  });
});

const HELM = externalTool('helm');
const MISSING = lacking(HELM);
const CHART = join(ROOT, 'charts/cupo');
const PROVIDERS = [
  '--set',
  'secret.graphClientSecret=s',
  '--set',
  'secret.moodleToken=t',
  '--set',
  'secret.smtpUrl=smtps://m:pw@smtp.example.edu:465',
];
const configMap = (...args: string[]) => {
  const out = execFileSync(HELM.path!, ['template', 'cupo', CHART, '--namespace', 'cupo', ...PROVIDERS, ...args], { encoding: 'utf8' });
  const objects = parseAllDocuments(out)
    .map((d) => d.toJS())
    .filter(Boolean);
  return objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-config')).data as Record<string, string>;
};

describe.skipIf(MISSING)('chart: tracing.otlpEndpoint', () => {
  it('is off by default: no OTEL_ variable reaches the services', () => {
    expect(Object.keys(configMap()).filter((key) => key.startsWith('OTEL_'))).toEqual([]);
  });

  it('gives every service the endpoint and the sampler once set', () => {
    const data = configMap(
      '--set',
      'tracing.otlpEndpoint=http://otel-collector.observability:4318',
      '--set-json',
      'tracing.sampleRatio=0.25',
    );
    expect(data).toMatchObject({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.observability:4318',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
  });

  it('refuses an endpoint that is not an http(s) URL, and a ratio outside 0–1', () => {
    for (const bad of [['tracing.otlpEndpoint=otel-collector:4317'], ['tracing.sampleRatio=2']]) {
      const result = spawnSync(HELM.path!, ['template', 'cupo', CHART, ...PROVIDERS, '--set', bad[0]!], { encoding: 'utf8' });
      expect(result.status, bad[0]).not.toBe(0);
      expect(result.stderr).toMatch(/tracing/);
    }
  });
});
