import type { Task } from '@cupo/contracts';
import { closeConnections, defaultUrls, stopProcess, TcpProxy, type ServiceProcess } from '@cupo/stack';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, eventually, firstBatchOf, startTestStack, token, type TestStack } from './support.js';

/**
 * Onboarding broken on purpose, against the providers' real stand-ins: a batch delivered again
 * while its first run is alive, a worker stopped mid-batch, Redis, PostgreSQL and the directory
 * away in the middle of a step, a reply lost after the directory created the account. Each
 * test starts the worker replicas it needs. Lease and retry timings are short so the file
 * settles fast; the logic is the production one.
 */
let stack: TestStack;
let api: ReturnType<typeof apiClient>;
let admin: string;
const replicas: ServiceProcess[] = [];
const proxies: TcpProxy[] = [];

const FAST = {
  TASK_HEARTBEAT_MS: '300',
  TASK_LEASE_MS: '3000',
  JOB_RETRY_INITIAL_MS: '50',
  JOB_RETRY_MAX_MS: '400',
  WORKFLOW_MAX_ATTEMPTS: '2',
  WORKFLOW_RETRY_INITIAL_MS: '100',
  WORKFLOW_RETRY_MAX_MS: '400',
  SHUTDOWN_TIMEOUT_MS: '8000',
};
const RATES = { rate_limit_directory_per_min: 3_000, rate_limit_lms_per_min: 3_000, rate_limit_email_per_min: 3_000 };

beforeAll(async () => {
  stack = await startTestStack('onbfaults', {
    replicas: { inventory: 0, booking: 0, enrollment: 0, worker: 1 },
    serviceEnv: { worker: FAST },
  });
  api = apiClient(stack.gatewayUrl);
  admin = await token('admin-1', 'admin');
  expect((await api('PUT', '/api/admin/config', { token: admin, body: { batch_size: 40, ...RATES } })).status).toBe(200);
  // Each test starts its own replicas.
  await Promise.all(live().map((p) => stopProcess(p)));
});

afterEach(async () => {
  await Promise.all(replicas.splice(0).map((proc) => stopProcess(proc)));
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  const { graph, moodle, smtpAdmin } = stack.providers!;
  for (const url of [graph, moodle, smtpAdmin]) await configure(url, { latencyMs: 0, failureRate: 0, failFor: [], lateReplyMs: {} });
});

afterAll(async () => {
  await stack?.close();
});

const live = () => stack.processes.filter((p) => p.name.startsWith('worker-') && p.child.exitCode === null && p.child.signalCode === null);

async function startWorkers(count: number, env: NodeJS.ProcessEnv = {}): Promise<ServiceProcess[]> {
  const started = await Promise.all(Array.from({ length: count }, () => stack.startReplica('worker', env)));
  replicas.push(...started);
  return started;
}

async function proxyTo(url: string): Promise<TcpProxy> {
  const parsed = new URL(url);
  const proxy = await new TcpProxy({ host: parsed.hostname, port: Number(parsed.port) }).start();
  proxies.push(proxy);
  return proxy;
}

const students = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => {
    const id = `${prefix}${String(i).padStart(2, '0')}`;
    return { id, name: `Student ${id}`, email: `${id.toLowerCase()}@mail.cupo.test` };
  });

type Call = { at: number; op: string; subject?: string; status: number };
const calls = async (url: string): Promise<Call[]> => (await fetch(`${url}/_calls`)).json() as Promise<Call[]>;
const configure = (url: string, body: unknown) =>
  fetch(`${url}/_config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function ingest(list: { id: string }[]): Promise<string> {
  // Right after a database blip the worker's breaker may still be open: 503, retry as a client would.
  let accepted = await api('POST', '/api/admin/onboarding/ingest', { token: admin, body: { students: list } });
  for (let tries = 0; accepted.status === 503 && tries < 20; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    accepted = await api('POST', '/api/admin/onboarding/ingest', { token: admin, body: { students: list } });
  }
  expect(accepted.status).toBe(202);
  const batchId = await firstBatchOf(api, admin, accepted.body.task_id);
  return batchId!;
}

async function settled(batchId: string, timeoutMs = 60_000): Promise<{ batch: Task; workflows: Task[] }> {
  let batch!: Task;
  await eventually(
    async () => {
      batch = (await api<Task>('GET', `/api/admin/tasks/${batchId}`, { token: admin })).body;
      return batch.status === 'completed' || batch.status === 'failed';
    },
    timeoutMs,
    100,
  );
  const workflows = (await api<Task[]>('GET', `/api/admin/tasks?type=workflow&parent_id=${batchId}`, { token: admin })).body;
  return { batch, workflows };
}

/** Per student of `prefix`: mails sent, accounts created at the directory, LMS users created. */
async function effects(
  prefix: string,
): Promise<{ mails: Map<string, number>; accounts: Map<string, number>; lmsUsers: Map<string, number> }> {
  const p = prefix.toLowerCase();
  const tally = (list: Call[], key: (c: Call) => string | undefined) => {
    const counts = new Map<string, number>();
    for (const c of list) {
      const k = key(c);
      if (k) counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    return counts;
  };
  const { graph, moodle, smtpAdmin } = stack.providers!;
  return {
    mails: tally(
      (await calls(smtpAdmin)).filter((c) => c.op === 'mail.send' && c.status === 200),
      (c) => (/^(\S+)@mail/.exec(c.subject ?? '')?.[1]?.startsWith(p) ? /^(\S+)@mail/.exec(c.subject!)![1] : undefined),
    ),
    accounts: tally(
      (await calls(graph)).filter((c) => c.op === 'users.create' && c.status === 201),
      (c) => (c.subject?.startsWith(p) ? c.subject : undefined),
    ),
    lmsUsers: tally(
      (await calls(moodle)).filter((c) => c.op === 'core_user_create_users' && c.status === 200),
      (c) => (c.subject?.startsWith(p) ? c.subject : undefined),
    ),
  };
}

/** Every student got exactly one of each effect. */
function exactlyOnce(counts: Map<string, number>, count: number): void {
  expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
  expect(counts.size).toBe(count);
}

describe('onboarding under redelivery, shutdown and blips', () => {
  it('runs a batch delivered again while its first run is alive once: one e-mail per student, no false failures', async () => {
    await startWorkers(2);
    const { graph, smtpAdmin } = stack.providers!;
    // A slow directory keeps the first run in its first workflows while the broker is at work.
    await configure(graph, { latencyMs: 800 });
    await configure(smtpAdmin, { latencyMs: 200 });
    const batchId = await ingest(students('REDO', 24));
    await eventually(async () => (await calls(graph)).filter((c) => c.subject?.startsWith('redo')).length >= 2, 30_000, 20);
    // The broker drops both workers' connections: the batch's unacked message is delivered
    // again (to either replica) while its first run goes on.
    const closed = await closeConnections(defaultUrls().amqpUrl, decodeURIComponent(new URL(stack.amqpUrl).pathname.slice(1)), 'worker');
    expect(closed).toBeGreaterThanOrEqual(2);
    expect((await api('GET', `/api/admin/tasks/${batchId}`, { token: admin })).body.status).toBe('running');
    await configure(graph, { latencyMs: 100 });
    const { batch, workflows } = await settled(batchId);
    expect(batch).toMatchObject({ status: 'completed', details: { completed: 24, failed: 0 } });
    expect(workflows.filter((w) => w.status !== 'completed').map((w) => [w.student_id, w.details.errors])).toEqual([]);
    // No provider refused a step (e.g. "already exists" to the twin run's POST).
    expect(workflows.flatMap((w) => w.details.warnings ?? [])).toEqual([]);
    const { mails, accounts, lmsUsers } = await effects('REDO');
    exactlyOnce(mails, 24);
    exactlyOnce(accounts, 24);
    exactlyOnce(lmsUsers, 24);
  });

  it('stops a worker mid-batch within SHUTDOWN_TIMEOUT_MS, handing the batch to another replica: no e-mail twice or lost', async () => {
    const [a, b] = await startWorkers(2);
    const { graph, smtpAdmin } = stack.providers!;
    // Slow mail: when the signal comes, sends are in flight.
    await configure(graph, { latencyMs: 100 });
    await configure(smtpAdmin, { latencyMs: 1_500 });
    const batchId = await ingest(students('TERM', 20));
    await eventually(async () => (await calls(smtpAdmin)).filter((c) => c.subject?.startsWith('term')).length >= 2, 30_000, 20);
    const [row] = await stack.workerDb<{ owner: string | null }[]>`SELECT owner FROM tasks WHERE id = ${batchId}`;
    const ownerPid = Number(/:(\d+)\//.exec(row!.owner ?? '')?.[1]);
    const owner = [a!, b!].find((p) => p.child.pid === ownerPid)!;
    expect(owner).toBeDefined();
    const stopped = Date.now();
    owner.child.kill('SIGTERM');
    const code = await owner.exited;
    const tookMs = Date.now() - stopped;
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(Number(FAST.SHUTDOWN_TIMEOUT_MS));
    await configure(smtpAdmin, { latencyMs: 100 });
    const { batch, workflows } = await settled(batchId);
    expect(batch).toMatchObject({ status: 'completed', details: { completed: 20, failed: 0 } });
    expect(workflows.every((w) => w.status === 'completed')).toBe(true);
    expect(workflows.flatMap((w) => w.details.warnings ?? [])).toEqual([]);
    const { mails, accounts } = await effects('TERM');
    exactlyOnce(mails, 20);
    exactlyOnce(accounts, 20);
  });

  it('lets an admin retry a failed workflow: it completes, with one account and one e-mail', async () => {
    await startWorkers(1);
    const { graph } = stack.providers!;
    await configure(graph, { failFor: ['retry00@students.cupo.test'] });
    const batchId = await ingest(students('RETRY', 2));
    const first = await settled(batchId);
    const failed = first.workflows.find((w) => w.student_id === 'RETRY00');
    expect(failed).toMatchObject({ status: 'failed' });
    expect(failed.details.errors[0]).toMatch(/^directory: gave up after 2 attempts/);
    expect(first.batch.details).toMatchObject({ completed: 1, failed: 1 });

    for (const [id, status, code] of [
      [first.workflows.find((w) => w.student_id === 'RETRY01').id, 409, 'TASK_NOT_RETRYABLE'],
      ['00000000-0000-4000-8000-000000000000', 404, 'TASK_NOT_FOUND'],
      ['not-a-uuid', 404, 'TASK_NOT_FOUND'],
    ] as const) {
      const refused = await api('POST', `/api/admin/tasks/${id}/retry`, { token: admin });
      expect([refused.status, refused.body.code]).toEqual([status, code]);
    }
    expect((await api('POST', `/api/admin/tasks/${failed.id}/retry`, { token: await token('g', 'guest') })).status).toBe(403);

    await configure(graph, { failFor: [] });
    const retried = await api('POST', `/api/admin/tasks/${failed.id}/retry`, { token: admin });
    expect(retried.status).toBe(202);
    expect(retried.headers.get('location')).toBe(`/api/admin/tasks/${failed.id}`);
    expect(retried.body).toMatchObject({ id: failed.id, status: 'pending', details: { admin_retries: 1, retried_by: 'admin-1' } });
    expect(
      await eventually(
        async () => (await api('GET', `/api/admin/tasks/${failed.id}`, { token: admin })).body.status === 'completed',
        30_000,
      ),
    ).toBe(true);
    const again = await settled(batchId);
    expect(again.batch).toMatchObject({ status: 'completed', details: { completed: 2, failed: 0 } });
    const done = again.workflows.find((w) => w.id === failed.id);
    expect(done.details).toMatchObject({ user_principal_name: 'retry00@students.cupo.test', warnings: [] });
    expect(done.details.errors).toBeUndefined();
    const { mails, accounts } = await effects('RETRY');
    exactlyOnce(mails, 2);
    exactlyOnce(accounts, 2);
    // A second retry of what now succeeded is refused.
    expect((await api('POST', `/api/admin/tasks/${failed.id}/retry`, { token: admin })).status).toBe(409);
  });

  it('rides out Redis, PostgreSQL and the directory going away in the middle of a step: no workflow fails, no e-mail twice or lost', async () => {
    const redis = await proxyTo(defaultUrls().redisUrl);
    const pg = await proxyTo(stack.databaseUrls.worker);
    await startWorkers(1, {
      REDIS_URL: redis.rewrite(defaultUrls().redisUrl),
      DATABASE_URL: pg.rewrite(stack.databaseUrls.worker),
      WORKFLOW_MAX_ATTEMPTS: '6',
      WORKFLOW_RETRY_INITIAL_MS: '400',
      WORKFLOW_RETRY_MAX_MS: '1500',
      DATABASE_CIRCUIT_RECOVERY_TIMEOUT: '1',
    });
    const { graph, smtpAdmin } = stack.providers!;
    await configure(graph, { latencyMs: 100 });
    await configure(smtpAdmin, { latencyMs: 200 });

    // Redis (the rate limiter) away while workflows wait for their directory slot.
    const redisBatch = await ingest(students('BLIPR', 12));
    await eventually(async () => (await calls(graph)).filter((c) => c.subject?.startsWith('blipr')).length >= 4, 30_000, 20);
    redis.refuse(true);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    redis.refuse(false);

    // PostgreSQL cut while e-mails are being claimed, sent and recorded.
    const pgBatch = await ingest(students('BLIPP', 12));
    await eventually(async () => (await calls(smtpAdmin)).filter((c) => c.subject?.startsWith('blipp')).length >= 2, 30_000, 20);
    pg.refuse(true);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    pg.refuse(false);

    // The directory answers 503 for longer than one request's own retries last.
    const providerBatch = await ingest(students('BLIPD', 12));
    await eventually(
      async () => (await calls(graph)).filter((c) => c.op === 'users.create' && c.subject?.startsWith('blipd')).length >= 2,
      30_000,
      20,
    );
    await configure(graph, { failureRate: 1 });
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    await configure(graph, { failureRate: 0 });
    expect((await calls(graph)).some((c) => c.subject?.startsWith('blipd') && c.status === 503)).toBe(true);

    for (const [batchId, prefix] of [
      [redisBatch, 'BLIPR'],
      [pgBatch, 'BLIPP'],
      [providerBatch, 'BLIPD'],
    ] as const) {
      const { batch, workflows } = await settled(batchId);
      expect(workflows.filter((w) => w.status !== 'completed').map((w) => [w.student_id, w.status, w.details.errors])).toEqual([]);
      expect(workflows.flatMap((w) => w.details.warnings ?? [])).toEqual([]);
      expect(batch).toMatchObject({ status: 'completed', details: { completed: 12, failed: 0 } });
      const { mails, accounts } = await effects(prefix);
      exactlyOnce(mails, 12);
      exactlyOnce(accounts, 12);
    }
  });

  it('takes "already exists" for the account it created itself as found (its first reply was lost)', async () => {
    await startWorkers(1, { PROVIDER_TIMEOUT_MS: '800' });
    const { graph, moodle } = stack.providers!;
    // The account is created at once, but the answer comes after the worker gave up waiting.
    await configure(graph, { lateReplyMs: { 'users.create': 1_500 } });
    await configure(moodle, { lateReplyMs: { core_user_create_users: 1_500 } });
    const { batch, workflows } = await settled(await ingest(students('LATE', 3)));
    expect(workflows.filter((w) => w.status !== 'completed').map((w) => [w.student_id, w.details.errors])).toEqual([]);
    expect(workflows.flatMap((w) => w.details.warnings ?? [])).toEqual([]);
    expect(batch.details).toMatchObject({ completed: 3, failed: 0 });
    const creates = (await calls(graph)).filter((c) => c.op === 'users.create' && c.subject?.startsWith('late'));
    // Each account was created once, and the retried request was told it exists.
    expect(creates.filter((c) => c.status === 201)).toHaveLength(3);
    expect(creates.filter((c) => c.status === 400).length).toBeGreaterThanOrEqual(3);
  });
});
