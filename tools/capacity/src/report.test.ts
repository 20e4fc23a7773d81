import { describe, expect, it } from 'vitest';
import { kneeOf, type LoadStep } from './report.js';
import { lineChart } from './svg.js';

const step = (offered: number, throughput: number, p95: number): LoadStep => ({
  offered,
  throughput,
  p95,
  n: 0,
  p50: 0,
  p99: 0,
  statuses: {},
  resources: { seconds: 1, cores: {}, machine: 0, pgLockWaiters: 0 },
});

describe('the capacity report', () => {
  it('finds the knee where p95 triples or throughput falls behind the offered load', () => {
    expect(kneeOf([step(50, 50, 20), step(100, 100, 40), step(200, 199, 70), step(300, 290, 200)])?.offered).toBe(300);
    expect(kneeOf([step(50, 50, 20), step(100, 80, 30)])?.offered).toBe(100);
    expect(kneeOf([step(50, 50, 20), step(100, 100, 25)])).toBeUndefined();
  });

  it('draws every measured point of every series', () => {
    const svg = lineChart({
      title: 'a <title>',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          label: 'p50',
          points: [
            { x: 1, y: 2 },
            { x: 2, y: 3 },
          ],
        },
        {
          label: 'p95',
          points: [
            { x: 1, y: 4 },
            { x: 2, y: 9 },
          ],
        },
      ],
      hLine: { y: 5, label: 'SLA' },
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<circle /g)).toHaveLength(4);
    expect(svg).toContain('a &lt;title>');
    expect(svg).toContain('stroke-dasharray');
  });
});
