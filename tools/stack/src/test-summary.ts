import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { skipReasonOf } from './external-tools.js';
import { REPO_ROOT } from './stack.js';

/**
 * Prints vitest's totals as one plain line, `N passed, N failed, N skipped`, which CI reads
 * whatever reporter produced the run; then one line per reason tests failed without running or
 * were skipped, so neither passes for a pass:
 *  - vitest's JSON marks the tests of a file whose setup (beforeAll, the import) failed as
 *    skipped; they are counted as failed here, with the error;
 *  - a test skipped because a tool is missing carries the reason and the command enabling it
 *    in its title (external-tools.ts); any other skip is listed as having no reason.
 */
interface Report {
  success: boolean;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: {
    name: string;
    status: string;
    message?: string;
    assertionResults: { ancestorTitles: string[]; title: string; status: string }[];
  }[];
}

const file = process.argv[2] ?? 'test-results/vitest.json';
let report: Report;
try {
  report = JSON.parse(readFileSync(file, 'utf8')) as Report;
} catch {
  console.log('0 passed, 1 failed');
  process.exit(0);
}

let failed = report.numFailedTests;
let skipped = report.numPendingTests + report.numTodoTests;
const details = new Map<string, number>();
const note = (line: string, count = 1) => details.set(line, (details.get(line) ?? 0) + count);
for (const result of report.testResults) {
  const where = relative(REPO_ROOT, result.name);
  // A failed file with no failed test, or with an error of its own, failed in its setup.
  const setupFailed = result.status === 'failed' && (!!result.message || !result.assertionResults.some((t) => t.status === 'failed'));
  const setupError = setupFailed
    ? (result.message ?? '').split('\n')[0] || 'its setup failed (the error is in the output above)'
    : undefined;
  if (setupError && result.assertionResults.length === 0) {
    failed += 1;
    note(`failed in ${where}: ${setupError}`);
  }
  for (const test of result.assertionResults) {
    if (test.status !== 'skipped' && test.status !== 'pending' && test.status !== 'todo') continue;
    const reason = [...test.ancestorTitles, test.title].map(skipReasonOf).find(Boolean);
    if (!reason && setupError) {
      failed += 1;
      skipped -= 1;
      note(`failed (did not run) in ${where}: ${setupError}`);
    } else {
      note(`skipped in ${where}: ${reason ?? 'no reason given'}`);
    }
  }
}
// Errors outside any test (an unhandled rejection) fail the run without failing a test.
if (!report.success && failed === 0) {
  failed = 1;
  note('failed: vitest reported errors outside the tests (see above)');
}
console.log(`${report.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
for (const [line, count] of details) console.log(`  ${line.replace(/^(failed|skipped)/, `$1 ${count}`)}`);
