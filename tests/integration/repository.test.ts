import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');

/** Every TypeScript source of ours (tests included), as [path, text]. */
const sources = (): [string, string][] =>
  ['packages', 'services', 'tools', 'tests'].flatMap((top) =>
    (readdirSync(fileURLToPath(new URL(`../../${top}`, import.meta.url)), { recursive: true }) as string[])
      .map((path) => `${top}/${path}`)
      .filter((path) => path.endsWith('.ts') && !/(^|\/)(node_modules|dist)\//.test(path))
      .map((path) => [path, read(path)] as [string, string]),
  );

/** `<pattern>` at `file:line`, for every match outside the files `allowed` accepts. */
const occurrences = (pattern: RegExp, allowed: (path: string) => boolean) =>
  sources()
    .filter(([path]) => !allowed(path))
    .flatMap(([path, text]) => text.split('\n').flatMap((line, i) => (pattern.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : [])));

describe('the repository', () => {
  it('speaks one error vocabulary: errors are named classes, and only @cupo/errors reads their kind', () => {
    const inErrors = (path: string) => path.startsWith('packages/errors/');
    // Subclasses call super(); the base class constructed anywhere else is an unnamed error made inline.
    expect(occurrences(/new DomainError\(/, inErrors)).toEqual([]);
    // Callers ask isRefusal / isTransient / httpStatusOf, never the kind itself.
    const KIND = /\.kind\s*[!=]==?\s*'(invalid|unauthorized|forbidden|not_found|conflict|unprocessable|rate_limited|unavailable|timeout|internal)'|error\.kind\s*[!=]==/;
    expect(occurrences(KIND, inErrors)).toEqual([]);
  });

  it('types RPC calls by their command: no caller names the reply type itself', () => {
    // `rpc.call(ConfirmBooking, …)` infers both ends from @cupo/contracts; a type argument would be a guess.
    expect(occurrences(/\.(call|gather)<[^>]*>\(/, () => false)).toEqual([]);
    expect(occurrences(/rpc\.call\([^,]*Commands\./, () => false)).toEqual([]);
  });

  it('keeps the per-service Dockerfiles identical but for the service they build', () => {
    const normalise = (service: string) =>
      read(`services/${service}/Dockerfile`)
        .replace(`ARG SERVICE=${service}\n`, 'ARG SERVICE=…\n')
        .replaceAll(`ARG SERVICE=${service}\n`, 'ARG SERVICE=…\n')
        .replace(new RegExp(`^# The ${service} image\\. (.*)services/${service}/`, 'm'), '# The … image. $1services/…/');
    expect(normalise('booking')).toBe(normalise('gateway'));
    expect(normalise('inventory')).toBe(normalise('gateway'));
    expect(normalise('enrollment')).toBe(normalise('gateway'));
    expect(normalise('worker')).toBe(normalise('gateway'));
  });

  it('builds images that are multi-stage, run as a non-root user, check their health and let SIGTERM reach node', () => {
    for (const path of ['gateway', 'inventory', 'booking', 'enrollment', 'worker'].map((s) => `services/${s}`).concat('tools/providers')) {
      const service = path;
      const dockerfile = read(`${path}/Dockerfile`);
      expect(dockerfile.match(/^FROM /gm)?.length, service).toBeGreaterThanOrEqual(2);
      expect(dockerfile, service).toMatch(/deploy --prod/);
      expect(dockerfile, service).toMatch(/^USER node$/m);
      expect(dockerfile, service).toMatch(/^HEALTHCHECK /m);
      // Exec form, node as PID 1's program: no shell in between to swallow SIGTERM.
      expect(dockerfile, service).toMatch(/^CMD \["node", /m);
    }
  });

  it('composes the same system as make run: every service replicated, migrated, scraped and graphed', async () => {
    const { parse } = await import('yaml');
    const { existsSync } = await import('node:fs');
    const compose = parse(read('docker-compose.yml')) as { services: Record<string, any> };
    for (const service of ['gateway', 'inventory', 'booking', 'enrollment', 'worker']) {
      expect(compose.services[service]?.deploy?.replicas, service).toBeGreaterThanOrEqual(2);
    }
    for (const service of ['inventory', 'booking', 'enrollment', 'worker']) {
      expect(compose.services[`${service}-migrate`]?.command.join(' '), service).toMatch(/migrate\.js/);
    }
    expect(read('deploy/postgres/init.sql')).toMatch(/cupo_enrollment/);
    // Every file compose mounts from the repository exists.
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of (service.volumes ?? []) as string[]) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./')) expect(existsSync(fileURLToPath(new URL(`../../${source}`, import.meta.url))), `${name}: ${source}`).toBe(true);
      }
    }
    const jobs = (parse(read('deploy/prometheus/prometheus.yml')).scrape_configs as { job_name: string }[]).map((j) => j.job_name);
    expect(jobs.sort()).toEqual(['booking', 'enrollment', 'gateway', 'inventory', 'worker']);
  });
});
