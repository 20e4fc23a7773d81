import { externalTool } from './external-tools.js';
import { defaultTestId, runK6 } from './k6.js';

/**
 * `make load`: the k6 scripts named on the command line, in turn, against BASE_URL (default
 * http://localhost:8080: `make run` or compose), stopping at the first that fails. k6 is the one
 * K6 (or CUPO_K6) names, else the team's copy at ../shared/bin/k6, else `k6` on PATH — never
 * required by anything else: without one this says so and exits 1. With PROMETHEUS_URL (e.g.
 * compose's http://localhost:9090) each run streams its metrics there, tagged `testid`, for the
 * "Cupo — load test" dashboard.
 */
const scripts = process.argv.slice(2);
const env = process.env;
const named = env.K6 ? ['K6', env.K6] : env.CUPO_K6 ? ['CUPO_K6', env.CUPO_K6] : undefined;
const k6 = externalTool('k6', { ...env, CUPO_K6: named?.[1] });
if (!k6.path) {
  const install = 'install k6 (https://grafana.com/docs/k6/latest/set-up/install-k6/) or run `K6=/path/to/k6 make load`';
  console.error(
    named
      ? `k6: ${named[0]}=${named[1]} is not an executable file: ${install}`
      : `k6: not found (none named by K6 or CUPO_K6, none at ../shared/bin/k6, none on PATH): ${install}`,
  );
  process.exit(1);
}
const baseUrl = env.BASE_URL || 'http://localhost:8080';
const prometheusUrl = env.PROMETHEUS_URL || env.K6_PROMETHEUS_RW_SERVER_URL?.replace(/\/api\/v1\/write\/?$/, '') || undefined;
console.error(`k6: ${k6.path}; against ${baseUrl}`);
if (prometheusUrl) console.error(`streaming each run to ${prometheusUrl}/api/v1/write (Grafana: "Cupo — load test", by testid)`);

for (const script of scripts) {
  const testId = defaultTestId(script);
  console.error(`== ${script}${prometheusUrl ? ` (testid ${testId})` : ''}`);
  const { status } = await runK6({ k6: k6.path, script, baseUrl, env, prometheusUrl, testId }, { inherit: true });
  if (status !== 0) {
    console.error(`${script} failed (k6 exit status ${status}${status === 99 ? ': a threshold did not hold' : ''})`);
    process.exit(1);
  }
}
