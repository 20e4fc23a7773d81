/** Percentile of an ascending list (nearest rank). */
export const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
export const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

export function summary(label: string, latencies: number[], seconds: number, statuses: Map<number, number>): void {
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(
    `${label}: n=${sorted.length}  p50 ${fmt(pct(sorted, 50))}  p95 ${fmt(pct(sorted, 95))}  p99 ${fmt(pct(sorted, 99))}  max ${fmt(sorted.at(-1) ?? 0)}  throughput ${(sorted.length / seconds).toFixed(0)}/s  statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
  );
}
