import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResourceSample } from './resources.js';
import { lineChart } from './svg.js';

export interface LoadStep {
  offered: number;
  n: number;
  p50: number;
  p95: number;
  p99: number;
  throughput: number;
  statuses: Record<string, number>;
  resources: ResourceSample;
}

export interface CapacityData {
  measuredAt: string;
  machine: { cores: number; node: string };
  quick: boolean;
  loadSweep: LoadStep[];
  replicas: (Omit<LoadStep, 'offered'> & { replicas: number })[];
  bursts: { size: number; p50: number; p95: number; max: number; wall: number; winners: number; statuses: Record<string, number> }[];
  enrollment: {
    bursts: { size: number; maxDepth: number; acceptP95: number; p50: number; p95: number; max: number; resources: ResourceSample }[];
    byDepth: { from: number; to: number; n: number; p50: number; p95: number }[];
  };
}

const ms = (value: number) => `${value.toFixed(0)} ms`;
const cores = (sample: ResourceSample) =>
  Object.entries(sample.cores)
    .filter(([, c]) => c >= 0.01)
    .sort(([, a], [, b]) => b - a)
    .map(([name, c]) => `${name} ${c.toFixed(2)}`)
    .join(', ');

/** The knee: the first step whose p95 is over three times the lightest step's, or that fell behind. */
export function kneeOf(steps: LoadStep[]): LoadStep | undefined {
  const base = steps[0]?.p95 ?? 0;
  return steps.find((s) => s.p95 > Math.max(3 * base, base + 50) || s.throughput < 0.9 * s.offered);
}

function bottleneck(step: LoadStep): string {
  const r = step.resources;
  const total = Object.values(r.cores).reduce((a, b) => a + b, 0);
  const ranked = Object.entries(r.cores).sort(([, a], [, b]) => b - a);
  const lines = [
    `At ${step.offered}/s offered (${step.throughput.toFixed(0)}/s achieved, p95 ${ms(step.p95)}) the machine's CPU was ${(r.machine * 100).toFixed(0)}% busy — ${total.toFixed(2)} of ${2} cores: ${cores(r)}.`,
  ];
  const cpuBound = r.machine > 0.85;
  lines.push(
    cpuBound
      ? `**The bottleneck is CPU.** Every component wants more of the two cores at once; the largest consumers are ${ranked
          .slice(0, 3)
          .map(([n]) => n)
          .join(', ')}.`
      : `The CPU was not saturated (${(r.machine * 100).toFixed(0)}%): the limit lies in waiting, not computing.`,
  );
  lines.push(
    r.pgLockWaiters >= 1
      ? `PostgreSQL row locks: on average ${r.pgLockWaiters.toFixed(1)} backends were waiting on a lock, so row-lock contention adds to the latency.`
      : `PostgreSQL row locks are not the limit: on average ${r.pgLockWaiters.toFixed(2)} backends were waiting on a lock (sampled every 100 ms).`,
  );
  const redis = r.cores.redis ?? 0;
  const rabbit = r.cores.rabbitmq ?? 0;
  lines.push(`Redis used ${redis.toFixed(2)} cores (its single thread is far from full) and RabbitMQ ${rabbit.toFixed(2)}.`);
  return lines.join(' ');
}

export function report(data: CapacityData, root: string): void {
  const dir = join(root, 'docs', 'capacity');
  const sweep = data.loadSweep;
  const knee = kneeOf(sweep);
  writeFileSync(
    join(dir, 'booking-latency-vs-load.svg'),
    lineChart({
      title: 'Booking latency against offered load (open model)',
      xLabel: 'offered load (bookings/s)',
      yLabel: 'latency (ms)',
      series: (['p50', 'p95', 'p99'] as const).map((k) => ({ label: k, points: sweep.map((s) => ({ x: s.offered, y: s[k] })) })),
      hLine: { y: 1500, label: 'SLA p95 1.5 s' },
    }),
  );
  writeFileSync(
    join(dir, 'booking-throughput-vs-replicas.svg'),
    lineChart({
      title: 'Booking throughput by booking replica count (32 clients, closed loop)',
      xLabel: 'booking replicas',
      yLabel: 'bookings/s',
      series: [{ label: 'throughput', points: data.replicas.map((r) => ({ x: r.replicas, y: r.throughput })) }],
    }),
  );
  writeFileSync(
    join(dir, 'burst-latency-vs-size.svg'),
    lineChart({
      title: 'Burst on one room-night: latency against burst size',
      xLabel: 'simultaneous guests',
      yLabel: 'latency (ms)',
      series: (['p50', 'p95', 'max'] as const).map((k) => ({ label: k, points: data.bursts.map((b) => ({ x: b.size, y: b[k] })) })),
      hLine: { y: 1500, label: 'SLA p95 1.5 s' },
    }),
  );
  writeFileSync(
    join(dir, 'enrollment-latency-vs-depth.svg'),
    lineChart({
      title: 'Enrollment accept→terminal latency against queue depth',
      xLabel: 'requests ahead at acceptance (bucket start)',
      yLabel: 'accept→terminal (ms)',
      series: (['p50', 'p95'] as const).map((k) => ({ label: k, points: data.enrollment.byDepth.map((b) => ({ x: b.from, y: b[k] })) })),
    }),
  );

  const md = `# Capacity: how Cupo's cost grows with its load

Measured ${data.measuredAt.slice(0, 16).replace('T', ' ')} UTC on this machine (${data.machine.cores} cores, Node ${data.machine.node}) by
\`make capacity\` (tools/capacity), which also wrote the plots and [\`capacity/data.json\`](capacity/data.json).${data.quick ? ' **Quick mode (CAPACITY_QUICK=1): fewer, shorter steps.**' : ''}
Every figure below comes from that run; run it again to reproduce them.

**How this was measured, and what differs from k6.** The scenarios are the k6 scripts'
(\`load-tests/\`), driven by a Node harness because k6 is not installed here. Bookings are
sent at an open-model arrival rate like k6's \`constant-arrival-rate\`, over ${sweep.length ? Math.round(sweep[0]!.n / sweep[0]!.offered) : 0} s per step,
across 200 rooms with ample units (so the figures measure the machinery, not sell-outs). The
load generator shares the two cores with PostgreSQL, RabbitMQ, Redis and every service, and
its own CPU is counted below. Latency is the client's: HTTP to the gateway, RPC to booking,
the redlock, RPC to inventory, PostgreSQL, and back. Each stack has its own databases and
vhost on the machine's shared servers.

## Booking latency against offered load

![booking latency](capacity/booking-latency-vs-load.svg)

| offered/s | achieved/s | p50 | p95 | p99 | statuses | machine CPU | cores by component |
|---|---|---|---|---|---|---|---|
${sweep.map((s) => `| ${s.offered} | ${s.throughput.toFixed(0)} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} | ${JSON.stringify(s.statuses)} | ${(s.resources.machine * 100).toFixed(0)}% | ${cores(s.resources)} |`).join('\n')}

${knee ? `**The knee is at about ${knee.offered} bookings/s offered** (the first step whose p95 is over three times the lightest one's): queueing starts there. ${bottleneck(knee)}` : 'No knee within the offered range.'}

Throughput tops out at about ${Math.max(...sweep.map((s) => s.throughput)).toFixed(0)} bookings/s; offered beyond that, the excess only queues (latency climbs, throughput stays flat). There, one booking costs about ${(() => {
    const top = sweep.reduce((a, b) => (b.throughput > a.throughput ? b : a), sweep[0]!);
    return ((Object.values(top.resources.cores).reduce((x, y) => x + y, 0) / top.throughput) * 1000).toFixed(1);
  })()} ms of CPU summed over every process (load generator included): two cores divided by that is the ceiling. To go faster, give the processes more cores (more nodes) or make a booking cheaper.

## Throughput with 1, 2 and 4 booking replicas

![throughput by replicas](capacity/booking-throughput-vs-replicas.svg)

| booking replicas | bookings/s | p50 | p95 | p99 | machine CPU | cores by component |
|---|---|---|---|---|---|---|
${data.replicas.map((r) => `| ${r.replicas} | ${r.throughput.toFixed(0)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${(r.resources.machine * 100).toFixed(0)}% | ${cores(r.resources)} |`).join('\n')}

${replicaVerdict(data)}

## The seed's burst at growing sizes (one room-night, one unit)

![burst latency](capacity/burst-latency-vs-size.svg)

| guests at once | p50 | p95 | max | wall time | winners | statuses |
|---|---|---|---|---|---|---|
${data.bursts.map((b) => `| ${b.size} | ${ms(b.p50)} | ${ms(b.p95)} | ${ms(b.max)} | ${ms(b.wall)} | ${b.winners} | ${JSON.stringify(b.statuses)} |`).join('\n')}

Every burst has exactly one winner${data.bursts.every((b) => b.winners === 1) ? '' : ' — **except where the table says otherwise**'}; the others get 409 without waiting out the
lock (the sold-out check between lock attempts), so latency grows with the burst only as
the queue in front of the two cores grows.

## Enrollment: accept→terminal latency against queue depth

![enrollment latency by depth](capacity/enrollment-latency-vs-depth.svg)

Depth is, for each request, the number of requests accepted before it and not yet finished
when it was accepted (from the requests' own \`accepted_at\`/\`finished_at\`, one clock).

| requests ahead | requests | accept→terminal p50 | p95 |
|---|---|---|---|
${data.enrollment.byDepth.map((b) => `| ${b.from}–${Number.isFinite(b.to) ? b.to - 1 : '…'} | ${b.n} | ${ms(b.p50)} | ${ms(b.p95)} |`).join('\n')}

| burst (50 clients) | max depth | accept p95 | accept→terminal p50 | p95 | max | machine CPU | cores by component |
|---|---|---|---|---|---|---|---|
${data.enrollment.bursts.map((b) => `| ${b.size} | ${b.maxDepth} | ${ms(b.acceptP95)} | ${ms(b.p50)} | ${ms(b.p95)} | ${ms(b.max)} | ${(b.resources.machine * 100).toFixed(0)}% | ${cores(b.resources)} |`).join('\n')}

Latency grows about linearly with the depth: the two consumers drain at a steady rate, and
a request waits for the ones ahead of it. Accepting stays cheap (one SQL statement), so
the queue absorbs a burst that processing then works through.
`;
  writeFileSync(join(root, 'docs', 'capacity.md'), md + keptSections(join(root, 'docs', 'capacity.md')));
}

/**
 * What follows SCALE_MARKER in the current docs/capacity.md (the cost-against-history section,
 * written from `make bench-scale` and `make soak`): kept when this report is rewritten.
 */
export const SCALE_MARKER = '<!-- bench-scale: kept by make capacity -->';
function keptSections(path: string): string {
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    return '';
  }
  const at = current.indexOf(SCALE_MARKER);
  return at < 0 ? '' : `\n${current.slice(at)}`;
}

function replicaVerdict(data: CapacityData): string {
  if (data.replicas.length < 2) return '';
  const [one, ...more] = data.replicas;
  const best = more.reduce((a, b) => (b.throughput > a.throughput ? b : a), one!);
  const gain = best.throughput / one!.throughput - 1;
  return gain > 0.25
    ? `More booking replicas raise throughput (best: ${best.replicas} replicas, ${(gain * 100).toFixed(0)}% over one).`
    : `More booking replicas barely change throughput (${data.replicas.map((r) => `${r.replicas}: ${r.throughput.toFixed(0)}/s`).join(', ')}): on two cores the machine, not the replica count, is the limit — a replica only adds a process competing for the same CPU. Replicas pay off when they get cores of their own (more nodes), and for availability.`;
}
