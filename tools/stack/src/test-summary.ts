import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { skipReasonOf } from './external-tools.js';
import { REPO_ROOT } from './stack.js';

/**
 * Prints vitest's totals as one plain line, `N passed, N failed, N skipped`, which CI reads
 * whatever reporter produced the run; then one line per reason tests were skipped (a tool this
 * machine lacks, and the command that would enable them), so a skip is never mistaken for a pass.
 */
interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { name: string; assertionResults: { ancestorTitles: string[]; title: string; status: string }[] }[];
}

const file = process.argv[2] ?? 'test-results/vitest.json';
let report: Report;
try {
  report = JSON.parse(readFileSync(file, 'utf8')) as Report;
} catch {
  console.log('0 passed, 1 failed');
  process.exit(0);
}
console.log(
  `${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests + report.numTodoTests} skipped`,
);
const skipped = new Map<string, number>();
for (const result of report.testResults) {
  for (const test of result.assertionResults) {
    if (test.status !== 'skipped' && test.status !== 'pending' && test.status !== 'todo') continue;
    const reason = [...test.ancestorTitles, test.title].map(skipReasonOf).find(Boolean) ?? 'no reason given';
    const key = `${relative(REPO_ROOT, result.name)}: ${reason}`;
    skipped.set(key, (skipped.get(key) ?? 0) + 1);
  }
}
for (const [where, count] of skipped) console.log(`  skipped ${count} in ${where}`);
