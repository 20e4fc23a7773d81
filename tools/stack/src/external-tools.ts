import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { REPO_ROOT } from './stack.js';

/**
 * The programs some tests need that are not npm packages. `make test` puts each in one place
 * (browser-tools.sh, fetch-tools.sh: from a variable, PATH, or a download); a test whose tool
 * is not there is skipped, and its title carries the exact command that would enable it, which
 * the summary (test-summary.ts) lists — a missing tool is never a silent pass.
 */
export type ExternalToolName = 'chromium' | 'prometheus' | 'promtool' | 'helm' | 'kubectl' | 'k6';

export interface ExternalTool {
  name: ExternalToolName;
  /** Absent when the tool is missing. */
  path?: string;
  /** Why it is missing and the command that would enable the tests needing it. */
  missing?: string;
}

interface Place {
  /** Relative to the repository's root. */
  file: string;
  variable: string;
  /** What else would provide it, for the message when it is missing. */
  provider: string;
  /** Also taken from PATH (never a tool that may act on something real, like kubectl). */
  onPath?: boolean;
}

const PLACES: Record<ExternalToolName, Place> = {
  chromium: { file: '.tools/browser/chromium', variable: 'CUPO_CHROMIUM', provider: '`make browser-tools` to find or fetch one' },
  prometheus: { file: '.tools/deploy/bin/prometheus', variable: 'CUPO_PROMETHEUS', provider: '`make deploy-tools` to find or fetch one' },
  promtool: { file: '.tools/deploy/bin/promtool', variable: 'CUPO_PROMTOOL', provider: '`make deploy-tools` to find or fetch one' },
  helm: { file: '.tools/deploy/bin/helm', variable: 'CUPO_HELM', provider: '`make deploy-tools` to find or fetch one' },
  kubectl: { file: '.tools/deploy/bin/kubectl', variable: 'CUPO_KUBECTL', provider: '`make deploy-tools` to find or fetch one' },
  // No registry the project uses carries k6: the team's machines have a copy beside the
  // project (../shared/bin, see its README), anyone else installs it the usual way.
  k6: {
    file: '../shared/bin/k6',
    variable: 'CUPO_K6',
    provider: 'install k6 (https://grafana.com/docs/k6/latest/set-up/install-k6/)',
    onPath: true,
  },
};

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/**
 * The tool its variable names, else the one `make test` provided (or, for k6, the team's copy);
 * only k6 is also taken from PATH: kubectl there may reach a real cluster, and the others are
 * linked from PATH into .tools by `make test` already.
 */
export function externalTool(name: ExternalToolName, env: NodeJS.ProcessEnv = process.env): ExternalTool {
  const { file, variable, provider, onPath } = PLACES[name];
  const enable = `\`${variable}=/path/to/${name} make test\``;
  const named = env[variable];
  if (named) {
    return executable(named)
      ? { name, path: named }
      : { name, missing: `${variable}=${named} is not an executable file; enable with ${enable}` };
  }
  const provided = resolve(REPO_ROOT, file);
  if (executable(provided)) return { name, path: provided };
  if (onPath) {
    const found = (env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, name))
      .find(executable);
    if (found) return { name, path: found };
  }
  return { name, missing: `${name} not found (${file}${onPath ? ', PATH' : ''}); enable with ${enable}, or ${provider}` };
}

const MARK = /\s\[skipped: needs (.+)\]$/;

/**
 * The title of a test or suite needing these tools: unchanged when they are all there, else
 * with why and how to enable it appended, which the summary reads back (skipReasonOf).
 */
export function titleNeeding(title: string, ...tools: ExternalTool[]): string {
  const missing = tools.filter((tool) => !tool.path).map((tool) => tool.missing);
  return missing.length === 0 ? title : `${title} [skipped: needs ${missing.join('; ')}]`;
}

/** True when one of these tools is missing: for `describe.skipIf` / `it.skipIf`. */
export const lacking = (...tools: ExternalTool[]): boolean => tools.some((tool) => !tool.path);

/** The reason titleNeeding put in a title, if any. */
export function skipReasonOf(title: string): string | undefined {
  return MARK.exec(title)?.[1];
}
