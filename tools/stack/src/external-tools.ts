import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './stack.js';

/**
 * The programs some tests need that are not npm packages. `make test` puts each in one place
 * (browser-tools.sh, fetch-tools.sh: from a variable, PATH, or a download); a test whose tool
 * is not there is skipped, and its title carries the exact command that would enable it, which
 * the summary (test-summary.ts) lists — a missing tool is never a silent pass.
 */
export type ExternalToolName = 'chromium' | 'prometheus' | 'promtool' | 'helm' | 'kubectl';

export interface ExternalTool {
  name: ExternalToolName;
  /** Absent when the tool is missing. */
  path?: string;
  /** Why it is missing and the command that would enable the tests needing it. */
  missing?: string;
}

const PLACES: Record<ExternalToolName, { file: string; variable: string; provider: string }> = {
  chromium: { file: '.tools/browser/chromium', variable: 'CUPO_CHROMIUM', provider: 'make browser-tools' },
  prometheus: { file: '.tools/deploy/bin/prometheus', variable: 'CUPO_PROMETHEUS', provider: 'make deploy-tools' },
  promtool: { file: '.tools/deploy/bin/promtool', variable: 'CUPO_PROMTOOL', provider: 'make deploy-tools' },
  helm: { file: '.tools/deploy/bin/helm', variable: 'CUPO_HELM', provider: 'make deploy-tools' },
  kubectl: { file: '.tools/deploy/bin/kubectl', variable: 'CUPO_KUBECTL', provider: 'make deploy-tools' },
};

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** The tool its variable names, else the one `make test` provided; never one merely on PATH (kubectl there may reach a real cluster). */
export function externalTool(name: ExternalToolName, env: NodeJS.ProcessEnv = process.env): ExternalTool {
  const { file, variable, provider } = PLACES[name];
  const enable = `\`${variable}=/path/to/${name} make test\``;
  const named = env[variable];
  if (named) {
    return executable(named) ? { name, path: named } : { name, missing: `${variable}=${named} is not an executable file; enable with ${enable}` };
  }
  const provided = join(REPO_ROOT, file);
  if (executable(provided)) return { name, path: provided };
  return { name, missing: `${name} not found (${file}); enable with ${enable}, or \`${provider}\` to find or fetch one` };
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
