import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const path = (file: string) => fileURLToPath(new URL(`../../${file}`, import.meta.url));
const read = (file: string) => readFileSync(path(file), 'utf8');
const SERVICES = ['gateway', 'inventory', 'booking', 'enrollment', 'worker'];
/** What these tests read of a docker-compose.yml service. */
interface ComposeService {
  deploy?: { replicas?: number };
  command?: string[];
  volumes?: string[];
}

/** Every TypeScript source of ours (tests included), as [path, text]; read once. */
let cached: [string, string][] | undefined;
const sources = (): [string, string][] => (cached ??= ['packages', 'services', 'tools', 'tests'].flatMap((top) => walk(top)));
const walk = (dir: string): [string, string][] =>
  readdirSync(path(dir), { withFileTypes: true }).flatMap((entry) => {
    const file = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return ['node_modules', 'dist'].includes(entry.name) ? [] : walk(file);
    return entry.isFile() && file.endsWith('.ts') ? [[file, read(file)] as [string, string]] : [];
  });

/** `<pattern>` at `file:line`, for every match outside the files `allowed` accepts. */
const occurrences = (pattern: RegExp, allowed: (path: string) => boolean) =>
  sources()
    .filter(([path]) => !allowed(path))
    .flatMap(([file, text]) => text.split('\n').flatMap((line, i) => (pattern.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])));

describe('the repository', () => {
  it('speaks one error vocabulary: errors are named classes, and only @cupo/errors reads their kind', () => {
    const inErrors = (path: string) => path.startsWith('packages/errors/');
    // Subclasses call super(); the base class constructed anywhere else is an unnamed error made inline.
    expect(occurrences(/new DomainError\(/, inErrors)).toEqual([]);
    // Callers ask isRefusal / isTransient / httpStatusOf, never the kind itself.
    const KIND =
      /\.kind\s*[!=]==?\s*'(invalid|unauthorized|forbidden|not_found|conflict|unprocessable|rate_limited|unavailable|timeout|internal)'|error\.kind\s*[!=]==/;
    expect(occurrences(KIND, inErrors)).toEqual([]);
  });

  it('types RPC calls by their command: no caller names the reply type itself', () => {
    // `rpc.call(ConfirmBooking, …)` infers both ends from @cupo/contracts; a type argument would be a guess.
    expect(occurrences(/\.(call|gather)<[^>]*>\(/, () => false)).toEqual([]);
    expect(occurrences(/rpc\.call\([^,]*Commands\./, () => false)).toEqual([]);
  });

  it('builds every image from one Dockerfile that must be told which service', () => {
    for (const dir of [...SERVICES.map((s) => `services/${s}`), 'tools/providers'])
      expect(existsSync(path(`${dir}/Dockerfile`)), dir).toBe(false);
    const dockerfile = read('Dockerfile');
    // Declared without a default in every stage that uses it, and checked: a build without it fails at once.
    expect(dockerfile.match(/^ARG SERVICE$/gm)?.length).toBe(2);
    expect(dockerfile).not.toMatch(/^ARG SERVICE=/m);
    expect(dockerfile).toMatch(/test -n "\$SERVICE" \|\|/);
  });

  it('lets every package build on its own (the image runs tsc -b for one): it references each workspace package it uses', () => {
    const missing: string[] = [];
    for (const top of ['packages', 'services', 'tools']) {
      for (const name of readdirSync(path(top))) {
        const dir = `${top}/${name}`;
        if (!existsSync(path(`${dir}/tsconfig.json`))) continue;
        const { dependencies = {} } = JSON.parse(read(`${dir}/package.json`)) as { dependencies?: Record<string, string> };
        const references = (JSON.parse(read(`${dir}/tsconfig.json`)) as { references?: { path: string }[] }).references ?? [];
        const referenced = new Set(references.map((r) => r.path.split('/').pop()));
        for (const used of Object.keys(dependencies).filter((d) => d.startsWith('@cupo/'))) {
          const target = used.slice('@cupo/'.length);
          if (!referenced.has(target)) missing.push(`${dir} uses ${used} without a tsconfig reference`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('builds images that are multi-stage, run as a non-root user, check their health and let SIGTERM reach node', () => {
    const dockerfile = read('Dockerfile');
    // The build stage, then one runtime stage per kind of image: the services and the stand-ins.
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages.map((stage) => stage.split('\n')[0]!.split(' AS ')[1])).toEqual(['build', 'providers', 'service']);
    expect(stages[0], 'build').toMatch(/deploy --prod/);
    for (const stage of stages.slice(1)) {
      const name = stage.split('\n')[0]!;
      expect(stage, name).toMatch(/^USER node$/m);
      expect(stage, name).toMatch(/^HEALTHCHECK /m);
      // Exec form, node as PID 1's program: no shell in between to swallow SIGTERM.
      expect(stage, name).toMatch(/^CMD \["node", /m);
    }
  });

  it('builds compose’s and CI’s images from that Dockerfile', async () => {
    const { parse } = await import('yaml');
    const compose = parse(read('docker-compose.yml')) as {
      services: Record<string, { build?: { context: string; args?: Record<string, string>; dockerfile?: string; target?: string } }>;
    };
    const built = Object.entries(compose.services).filter(([, service]) => service.build);
    expect(built.map(([, service]) => service.build!.args?.SERVICE).sort()).toEqual([...SERVICES, 'providers'].sort());
    for (const [name, { build }] of built) expect(build!.dockerfile, name).toBeUndefined();
    expect(compose.services.graph!.build!.target).toBe('providers');
    expect(read('.github/workflows/deploy.yml')).toMatch(/docker build --build-arg SERVICE=\$service /);
  });

  it('starts every service through runService: its main.ts holds only its wiring and its shutdown order', () => {
    for (const service of SERVICES) {
      const main = read(`services/${service}/src/main.ts`);
      expect(main, service).toMatch(/^runService\(\{$/m);
      // The ops server, signals, the shutdown's frame and the exit on a failed start are the skeleton's.
      expect(main, service).not.toMatch(/startOpsServer|createShutdown|exitOnSignals|process\.exit|main\(\)\.catch|weightFor/);
      expect(main.split('\n').length, service).toBeLessThanOrEqual(60);
    }
  });

  it('defines the settings services share once (serviceEnv), and the outbox table once (@cupo/outbox)', () => {
    const SHARED =
      /^\s*(NODE_ENV|LOG_LEVEL|SHUTDOWN_TIMEOUT_MS|DATABASE_URL|PG_POOL_MAX|AMQP_URL|REDIS_URL|REDIS_KEY_PREFIX|REDIS_COMMAND_TIMEOUT_MS|HTTP_PORT|RPC_PREFETCH|JOB_MAX_ATTEMPTS|JOB_DELIVERY_LIMIT|JOB_RETRY_INITIAL_MS|JOB_RETRY_MAX_MS|OUTBOX_BATCH_SIZE|OUTBOX_POLL_MS): (z|env)\./m;
    for (const service of SERVICES) expect(read(`services/${service}/src/config.ts`), service).not.toMatch(SHARED);
    const OUTBOX_TABLE = /CREATE TABLE (IF NOT EXISTS )?outbox\b/;
    const migrations = SERVICES.flatMap((service) => {
      const dir = `services/${service}/migrations`;
      return existsSync(path(dir)) ? readdirSync(path(dir)).map((file) => `${dir}/${file}`) : [];
    });
    const product = sources().filter(([file]) => !file.startsWith('tests/'));
    const defining = [
      ...product.filter(([, text]) => OUTBOX_TABLE.test(text)).map(([file]) => file),
      ...migrations.filter((file) => OUTBOX_TABLE.test(read(file))),
    ];
    expect(defining).toEqual(['packages/outbox/src/migration.ts']);
  });

  it('composes the same system as make run: every service replicated, migrated, scraped and graphed', async () => {
    const { parse } = await import('yaml');
    const { existsSync } = await import('node:fs');
    const compose = parse(read('docker-compose.yml')) as { services: Record<string, ComposeService> };
    for (const service of ['gateway', 'inventory', 'booking', 'enrollment', 'worker']) {
      expect(compose.services[service]?.deploy?.replicas, service).toBeGreaterThanOrEqual(2);
    }
    for (const service of ['inventory', 'booking', 'enrollment', 'worker']) {
      expect(compose.services[`${service}-migrate`]?.command!.join(' '), service).toMatch(/migrate\.js/);
    }
    expect(read('deploy/postgres/init.sql')).toMatch(/cupo_enrollment/);
    // Every file compose mounts from the repository exists.
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of (service.volumes ?? []) as string[]) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./'))
          expect(existsSync(fileURLToPath(new URL(`../../${source}`, import.meta.url))), `${name}: ${source}`).toBe(true);
      }
    }
    const jobs = (parse(read('deploy/prometheus/prometheus.yml')).scrape_configs as { job_name: string }[]).map((j) => j.job_name);
    expect(jobs.sort()).toEqual(['booking', 'enrollment', 'gateway', 'inventory', 'worker']);
  });
});
