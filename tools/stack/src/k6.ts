import { spawn } from 'node:child_process';
import { basename, isAbsolute, join } from 'node:path';
import { REPO_ROOT } from './stack.js';

/**
 * How the project runs a k6 script — `make load` and the system test alike, so what the test
 * proves is what `make load` does: the gateway's URL and JWT settings handed to the script
 * through its environment (k6 passes the process's environment to `__ENV`; nothing secret on a
 * command line), and, when a Prometheus is named, the run streamed to its remote-write receiver.
 */
export interface K6Run {
  /** The k6 binary (externalTool('k6')). */
  k6: string;
  /** A script of load-tests/ by name (`smoke`) or a path. */
  script: string;
  baseUrl: string;
  /**
   * The environment the gateway was started with: JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE and
   * JWT_MAX_LIFETIME_SECONDS are read from it so the scripts sign tokens it accepts. Also passed
   * to k6, so K6_* settings given there win over the defaults below.
   */
  env?: NodeJS.ProcessEnv;
  /** A Prometheus's base URL: the run streams to its /api/v1/write. */
  prometheusUrl?: string;
  /** The `testid` tag on every metric of the run (the load-test dashboard's selector). */
  testId?: string;
  /** More k6 arguments, e.g. `--no-thresholds`, `--summary-export=…`. */
  args?: string[];
}

/**
 * k6's system tags less `url`: streamed to Prometheus every tag is a label, and a URL with an id
 * in it (/api/bookings/…) would make a series per request. Requests are grouped by their `name`
 * tag instead (the scripts name the ones whose URL carries an id).
 */
export const K6_SYSTEM_TAGS =
  'proto,subproto,status,method,name,group,check,error,error_code,tls_version,scenario,service,expected_response';

export function scriptPath(script: string): string {
  if (isAbsolute(script) || script.includes('/')) return script;
  return join(REPO_ROOT, 'load-tests', script.endsWith('.js') ? script : `${script}.js`);
}

export function defaultTestId(script: string): string {
  return `${basename(script, '.js')}-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '')}`;
}

/** The command line and environment of one run. */
export function k6Command(run: K6Run): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  const given = run.env ?? process.env;
  const args = ['run', '--quiet'];
  const streaming: NodeJS.ProcessEnv = {};
  if (run.prometheusUrl) {
    args.push('--out', 'experimental-prometheus-rw', '--tag', `testid=${run.testId ?? defaultTestId(run.script)}`);
    Object.assign(streaming, {
      K6_PROMETHEUS_RW_SERVER_URL: `${run.prometheusUrl.replace(/\/$/, '')}/api/v1/write`,
      // Durations as native histograms: the dashboard takes any percentile over any window
      // and across runs (k6's alternative, a p(95) gauge, is over the whole run so far).
      // Prometheus stores them with --enable-feature=native-histograms.
      K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM: 'true',
      K6_SYSTEM_TAGS,
    });
  }
  args.push(...(run.args ?? []), scriptPath(run.script));
  const env: NodeJS.ProcessEnv = {
    // k6 reports anonymous usage to Grafana unless told not to; a test must not reach out.
    K6_NO_USAGE_REPORT: 'true',
    ...streaming,
    ...given,
    BASE_URL: run.baseUrl,
    JWT_SECRET: given.JWT_SECRET || 'dev-secret-change-me',
  };
  return { file: run.k6, args, env };
}

/** Runs k6 to its end: its exit status (0: every threshold held, 99: one failed) and output. */
export function runK6(run: K6Run, options: { inherit?: boolean } = {}): Promise<{ status: number | null; output: string }> {
  const { file, args, env } = k6Command(run);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, cwd: REPO_ROOT, stdio: options.inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}
