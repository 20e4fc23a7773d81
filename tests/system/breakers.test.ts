import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, eventually, firstBatchOf, startTestStack, token, type TestStack } from './support.js';

/** What the tests read of an admin task. */
interface WorkflowTask {
  status: string;
  student_id: string | null;
  details: { warnings?: unknown[]; last_error?: unknown; completed?: number; failed?: number };
}

/**
 * Every breaker of every service, per process, in `/api/ops/circuit-breakers` and resettable
 * there; and a provider's open breaker pausing its workflows instead of failing them (15.3).
 * Two worker replicas; the worker's retries are short and its workflows get only two
 * attempts, so a provider outage that were not paused would fail them within seconds.
 */
let stack: TestStack;
let api: ReturnType<typeof apiClient>;
let admin: string;

const WORKER = {
  TASK_HEARTBEAT_MS: '300',
  TASK_LEASE_MS: '3000',
  JOB_RETRY_INITIAL_MS: '50',
  JOB_RETRY_MAX_MS: '400',
  WORKFLOW_MAX_ATTEMPTS: '2',
  WORKFLOW_RETRY_INITIAL_MS: '100',
  WORKFLOW_RETRY_MAX_MS: '400',
  PROVIDER_CIRCUIT_FAILURE_THRESHOLD: '3',
  PROVIDER_CIRCUIT_RECOVERY_TIMEOUT: '2',
  PROVIDER_CIRCUIT_SUCCESS_THRESHOLD: '2',
};
const RATES = { rate_limit_directory_per_min: 3_000, rate_limit_lms_per_min: 3_000, rate_limit_email_per_min: 3_000 };

beforeAll(async () => {
  stack = await startTestStack('breakers', {
    replicas: { inventory: 1, booking: 1, enrollment: 1, worker: 2 },
    serviceEnv: { worker: WORKER },
  });
  api = apiClient(stack.gatewayUrl);
  admin = await token('breakers-admin', 'admin');
  expect((await api('PUT', '/api/admin/config', { token: admin, body: { batch_size: 40, ...RATES } })).status).toBe(200);
});

afterAll(async () => {
  await stack?.close();
});

interface Instance {
  service: string;
  instance: string;
  state: string;
  failure_count: number;
  success_count: number;
}
type Report = {
  circuit_breakers: Record<string, { state: string; instances: Instance[] }>;
  overall_health: string;
  degraded_services: string[];
};

const report = async (): Promise<Report> => {
  const response = await api('GET', '/api/ops/circuit-breakers', { token: admin });
  expect(response.status).toBe(200);
  return response.body as Report;
};
/** `service/instance` of every process that has `name`, sorted. */
const holders = (r: Report, name: string) => (r.circuit_breakers[name]?.instances ?? []).map((i) => `${i.service}/${i.instance}`).sort();
const pidsOf = (service: string) =>
  stack.processes.filter((p) => p.name.startsWith(`${service}-`) && p.child.exitCode === null).map((p) => p.child.pid);

const configure = (url: string, body: unknown) =>
  fetch(`${url}/_config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('every breaker of every service in operations', () => {
  it('lists each service’s breakers per process — both worker replicas included — and resets one process’s', async () => {
    let r: Report | undefined;
    // Every process answers within the gather window (a busy machine may need a second look).
    await eventually(
      async () => {
        r = await report();
        return holders(r, 'postgres').length === 5 && holders(r, 'directory').length === 2 && holders(r, 'redis').length === 2;
      },
      20_000,
      250,
    );
    const byService = (name: string) => r!.circuit_breakers[name]!.instances.map((i) => i.service);
    expect(byService('postgres')).toEqual(['booking', 'enrollment', 'inventory', 'worker', 'worker']);
    expect(byService('publishing')).toEqual(['enrollment', 'worker', 'worker']);
    expect(byService('redis')).toEqual(['booking', 'gateway']);
    for (const provider of ['directory', 'lms', 'email', 'sis']) expect(byService(provider)).toEqual(['worker', 'worker']);
    expect(r!.overall_health).toBe('healthy');

    // Each worker replica reports under its own name (runService's: service@host:pid).
    const workers = r!.circuit_breakers.directory!.instances.map((i) => i.instance);
    expect(new Set(workers).size).toBe(2);
    expect(workers.map((w) => Number(/:(\d+)$/.exec(w)?.[1])).sort()).toEqual(pidsOf('worker').sort());

    // A reset can name one process: only that one resets.
    const one = await api('POST', `/api/ops/circuit-breakers/lms/reset?service=worker&instance=${encodeURIComponent(workers[1]!)}`, {
      token: admin,
    });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      name: 'lms',
      reset_instances: 1,
      resets: [{ service: 'worker', instance: workers[1], state: 'closed' }],
      state: 'closed',
    });
    // Or one service: every process of it.
    const service = await api('POST', '/api/ops/circuit-breakers/postgres/reset?service=worker', { token: admin });
    expect(service.body).toMatchObject({ reset_instances: 2 });
    expect(service.body.resets.map((x: Instance) => x.service)).toEqual(['worker', 'worker']);
    // Or, as before, every process that has it.
    const all = await api('POST', '/api/ops/circuit-breakers/postgres/reset', { token: admin });
    expect(all.status).toBe(200);
    expect(all.body.resets.map((x: Instance) => x.service)).toEqual(['booking', 'enrollment', 'inventory', 'worker', 'worker']);
    expect(all.body.instances).toHaveLength(5);

    // Nobody matches: 404; a malformed filter: 400 and nothing reset.
    const none = await api('POST', '/api/ops/circuit-breakers/postgres/reset?service=gateway', { token: admin });
    expect([none.status, none.body.code]).toEqual([404, 'CIRCUIT_BREAKER_NOT_FOUND']);
    const bad = await api('POST', '/api/ops/circuit-breakers/postgres/reset?service=Not%20A%20Service', { token: admin });
    expect(bad.status).toBe(400);
    const unknownParameter = await api('POST', '/api/ops/circuit-breakers/postgres/reset?replica=x', { token: admin });
    expect(unknownParameter.status).toBe(400);
  });

  it('pauses the workflows of a provider whose breaker is open, instead of failing them, and finishes them once it is back', async () => {
    const { graph } = stack.providers!;
    const count = 8;
    const list = Array.from({ length: count }, (_, i) => {
      const id = `PAUSE${String(i).padStart(2, '0')}`;
      return { id, name: `Student ${id}`, email: `${id.toLowerCase()}@mail.cupo.test` };
    });
    // The directory answers 503 to everything: away.
    await configure(graph, { failureRate: 1 });
    try {
      const accepted = await api('POST', '/api/admin/onboarding/ingest', { token: admin, body: { students: list } });
      expect(accepted.status).toBe(202);
      const batchId = await firstBatchOf(api, admin, accepted.body.task_id);

      // The replica running the batch opens its directory breaker; ops shows it, with which process.
      let open: Instance | undefined;
      await eventually(
        async () => {
          const r = await report();
          open = r.circuit_breakers.directory?.instances.find((i) => i.state !== 'closed');
          return open !== undefined;
        },
        20_000,
        100,
      );
      expect(open!.service).toBe('worker');

      // An operator's reset of that process's breaker: it closes at once (and the next failed calls open it again).
      const reset = await api(
        'POST',
        `/api/ops/circuit-breakers/directory/reset?service=worker&instance=${encodeURIComponent(open!.instance)}`,
        { token: admin },
      );
      expect(reset.status).toBe(200);
      expect(reset.body).toMatchObject({ reset_instances: 1, resets: [{ service: 'worker', instance: open!.instance, state: 'closed' }] });

      // Ten seconds of outage — far longer than two attempts last — and nothing fails: the
      // workflows wait (pending or running), saying why.
      const until = Date.now() + 10_000;
      let pausedSeen = false;
      while (Date.now() < until) {
        const batch = (await api('GET', `/api/admin/tasks/${batchId}`, { token: admin })).body;
        const workflows = (await api('GET', `/api/admin/tasks?type=workflow&parent_id=${batchId}&limit=100`, { token: admin }))
          .body as WorkflowTask[];
        expect(batch.status).not.toBe('failed');
        expect(batch.status).not.toBe('completed');
        expect(
          workflows.filter((w) => w.status === 'failed' || w.status === 'completed').map((w) => [w.student_id, w.status, w.details]),
        ).toEqual([]);
        pausedSeen ||= workflows.some((w) => /circuit open/.test(String(w.details?.last_error ?? '')));
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(pausedSeen).toBe(true);
      const during = await report();
      expect(during.overall_health).toBe('degraded');
      expect(during.degraded_services).toContain('directory');

      await configure(graph, { failureRate: 0 });
      let batch: WorkflowTask | undefined;
      await eventually(
        async () => {
          batch = (await api('GET', `/api/admin/tasks/${batchId}`, { token: admin })).body;
          return batch!.status === 'completed' || batch!.status === 'failed';
        },
        60_000,
        200,
      );
      expect(batch).toMatchObject({ status: 'completed', details: { completed: count, failed: 0 } });
      const workflows = (await api('GET', `/api/admin/tasks?type=workflow&parent_id=${batchId}&limit=100`, { token: admin }))
        .body as WorkflowTask[];
      expect(workflows.filter((w) => w.status !== 'completed')).toEqual([]);
      expect(workflows.flatMap((w) => w.details.warnings ?? [])).toEqual([]);
      // Within one open period no breaker refuses calls any more: closed by the trial calls and
      // successes, or (a replica that has had no directory call since) half-open, its trial due.
      let after: Report | undefined;
      await eventually(
        async () => {
          after = await report();
          return after.circuit_breakers.directory!.instances.every((i) => i.state !== 'open');
        },
        Number(WORKER.PROVIDER_CIRCUIT_RECOVERY_TIMEOUT) * 1000 + 3_000,
        250,
      );
      expect(after!.circuit_breakers.directory!.instances.filter((i) => i.state === 'open')).toEqual([]);
      expect(after!.circuit_breakers.directory!.instances.some((i) => i.state === 'closed' && i.success_count > 0)).toBe(true);
    } finally {
      await configure(graph, { failureRate: 0 });
    }
  });
});
