import { readFileSync } from 'node:fs';

/**
 * Prints vitest's totals as one plain line, `N passed, N failed, N skipped`, which CI reads
 * whatever reporter produced the run.
 */
const file = process.argv[2] ?? 'test-results/vitest.json';
try {
  const report = JSON.parse(readFileSync(file, 'utf8')) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
  };
  console.log(
    `${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests + report.numTodoTests} skipped`,
  );
} catch {
  console.log('0 passed, 1 failed');
}
