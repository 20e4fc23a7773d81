import type { IngestProgress, Task } from '@cupo/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, eventually, startTestStack, token, type TestStack } from './support.js';

/**
 * Onboarding against real local stand-ins of the providers (separate processes speaking
 * Graph, Moodle web services and SMTP), with 2 worker replicas. Rates are set high enough to
 * keep the file short; the spacing they impose is measured at the providers.
 */
let stack: TestStack;
let api: ReturnType<typeof apiClient>;
let admin: string;

const RATES = { rate_limit_directory_per_min: 1_500, rate_limit_lms_per_min: 1_500, rate_limit_email_per_min: 1_500 };

beforeAll(async () => {
  stack = await startTestStack('onboard', {
    replicas: { inventory: 0, booking: 0, enrollment: 0, worker: 2 },
    serviceEnv: {
      worker: {
        TASK_HEARTBEAT_MS: '500',
        TASK_LEASE_MS: '3000',
        REAPER_STALE_MS: '4000',
        JOB_RETRY_INITIAL_MS: '50',
        JOB_RETRY_MAX_MS: '500',
        WORKFLOW_RETRY_INITIAL_MS: '50',
        WORKFLOW_RETRY_MAX_MS: '200',
        // A student the directory always refuses with a 500 (FAIL_FOR) is given up on after these.
        WORKFLOW_MAX_ATTEMPTS: '3',
      },
    },
    providerEnv: { graph: { FAIL_FOR: 'dirfail1@students.cupo.test,dirfail2@students.cupo.test' }, moodle: { FAIL_FOR: 'lmsfail1' } },
  });
  api = apiClient(stack.gatewayUrl);
  admin = await token('admin-1', 'admin');
  const config = await api('PUT', '/api/admin/config', { token: admin, body: { batch_size: 20, ...RATES } });
  expect(config.status).toBe(200);
});

afterAll(async () => {
  await stack?.close();
});

const students = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => {
    const id = `${prefix}${i}`;
    return { id, name: `Student ${id}`, email: `${id.toLowerCase()}@mail.cupo.test` };
  });

type Call = { at: number; op: string; subject?: string; status: number };
const calls = async (url: string): Promise<Call[]> => (await fetch(`${url}/_calls`)).json() as Promise<Call[]>;
const configure = (url: string, body: unknown) =>
  fetch(`${url}/_config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function ingestAndWait(body: unknown): Promise<{ ingest: Task; batches: Task[]; workflows: Task[] }> {
  const accepted = await api('POST', '/api/admin/onboarding/ingest', { token: admin, body });
  expect(accepted.status).toBe(202);
  const id = accepted.body.task_id;
  let ingest!: Task;
  await eventually(async () => {
    ingest = (await api<Task>('GET', `/api/admin/tasks/${id}`, { token: admin })).body;
    return ingest.status === 'completed' || ingest.status === 'failed';
  }, 30_000);
  let batches: Task[] = [];
  await eventually(async () => {
    batches = (await api<Task[]>('GET', `/api/admin/tasks?type=batch&parent_id=${id}`, { token: admin })).body;
    return batches.every((b) => b.status === 'completed' || b.status === 'failed');
  }, 60_000);
  const workflows = (
    await Promise.all(
      batches.map(async (b) => (await api<Task[]>('GET', `/api/admin/tasks?type=workflow&parent_id=${b.id}`, { token: admin })).body),
    )
  ).flat();
  return { ingest, batches, workflows };
}

/**
 * Windows that hold more calls than the limit allows, measured at the providers: for every
 * call, the calls in the 5 seconds that start with it, against the per-minute limit scaled to
 * 5 s. (The limiter spaces its slots 2% wider than the limit; a request reaches the provider a
 * little after its slot and not always equally late, and 2% of 5 s absorbs that jitter, as 2%
 * of the real minute does with room to spare. A 1-second window would leave only 20 ms.)
 */
function overfullWindows(list: Call[], perMinute: number, windowMs = 5_000): string[] {
  const allowed = (perMinute * windowMs) / 60_000;
  const times = list.map((c) => c.at).sort((a, b) => a - b);
  const over: string[] = [];
  for (let i = 0, j = 0; i < times.length; i++) {
    while (j < times.length && times[j]! < times[i]! + windowMs) j++;
    if (j - i > allowed) over.push(`${j - i} calls in the ${windowMs} ms from ${times[i]}`);
  }
  return over;
}

describe('student onboarding (2 worker replicas, real provider stand-ins)', () => {
  it('runs 50 new students in batches of 20: 3 batches, 50 completed workflows, within every provider’s rate', async () => {
    const { ingest, batches, workflows } = await ingestAndWait({ students: students('NEW', 50) });
    expect(ingest).toMatchObject({ status: 'completed', entity_count: 50, details: { received: 50, new: 50 } });
    expect(batches.map((b) => b.entity_count).sort()).toEqual([10, 20, 20]);
    expect(workflows).toHaveLength(50);
    expect(workflows.every((w) => w.status === 'completed')).toBe(true);
    const one = workflows.find((w) => w.student_id === 'NEW7');
    expect(one.details.user_principal_name).toBe('new7@students.cupo.test');
    expect((one!.details.steps as { name: string }[]).map((s) => s.name)).toEqual(['directory_account', 'lms_enrolment', 'welcome_email']);

    const { graph, moodle, smtpAdmin } = stack.providers!;
    const graphCalls = (await calls(graph)).filter((c) => c.subject?.startsWith('new'));
    expect(graphCalls.filter((c) => c.op === 'users.create')).toHaveLength(50);
    expect(overfullWindows(await calls(graph), RATES.rate_limit_directory_per_min)).toEqual([]);
    expect(overfullWindows(await calls(moodle), RATES.rate_limit_lms_per_min)).toEqual([]);
    expect(overfullWindows(await calls(smtpAdmin), RATES.rate_limit_email_per_min)).toEqual([]);
    expect((await calls(smtpAdmin)).filter((c) => c.op === 'mail.send' && c.subject?.startsWith('new')).length).toBe(50);
  });

  it('fails a workflow whose directory step fails (no LMS call, no e-mail); an LMS failure is only a warning', async () => {
    const { workflows } = await ingestAndWait({
      students: [
        { id: 'DIRFAIL1', name: 'Dir Fail', email: 'dirfail1@mail.cupo.test' },
        { id: 'DIRFAIL2', name: 'Dir Fail', email: 'dirfail2@mail.cupo.test' },
        { id: 'LMSFAIL1', name: 'Lms Fail', email: 'lmsfail1@mail.cupo.test' },
      ],
    });
    const byStudent = Object.fromEntries(workflows.map((w) => [w.student_id, w]));
    expect(byStudent.DIRFAIL1.status).toBe('failed');
    expect(byStudent.DIRFAIL1.details.errors[0]).toMatch(/^directory:/);
    expect(byStudent.LMSFAIL1.status).toBe('completed');
    expect(byStudent.LMSFAIL1.details.warnings[0]).toMatch(/^lms:/);
    const moodleSubjects = (await calls(stack.providers!.moodle)).map((c) => c.subject);
    expect(moodleSubjects).not.toContain('dirfail1');
    expect(moodleSubjects).not.toContain('dirfail2');
    const mail = (await calls(stack.providers!.smtpAdmin)).map((c) => c.subject ?? '');
    expect(mail.some((s) => s.includes('dirfail'))).toBe(false);
    expect(mail.some((s) => s.includes('lmsfail1'))).toBe(true);
  });

  it('tells an ingest’s progress in one request: onboarding until its last workflow ends, then what became of each', async () => {
    await configure(stack.providers!.graph, { latencyMs: 400 });
    let progress!: IngestProgress;
    try {
      const accepted = await api('POST', '/api/admin/onboarding/ingest', {
        token: admin,
        body: { students: [...students('PROG', 5), { id: 'DIRFAIL1', name: 'Dir Fail', email: 'dirfail1@mail.cupo.test' }] },
      });
      const url = `/api/admin/onboarding/${accepted.body.task_id}/progress`;
      // The ingest task completes once it has planned its batch; the work under it has not.
      expect(
        await eventually(
          async () => {
            progress = (await api<IngestProgress>('GET', url, { token: admin })).body;
            return progress.phase === 'onboarding';
          },
          20_000,
          20,
        ),
      ).toBe(true);
      expect((await api('GET', `/api/admin/tasks/${accepted.body.task_id}`, { token: admin })).body.status).toBe('completed');
      expect(progress).toMatchObject({ received: 6, new: 5, source: 'request', finished_at: null, batches: { total: 1 } });
      expect(progress.workflows.total).toBe(5);
      expect(progress.workflows.completed + progress.workflows.failed).toBeLessThan(5);
      expect(
        await eventually(
          async () => (progress = (await api<IngestProgress>('GET', url, { token: admin })).body).phase === 'finished',
          30_000,
        ),
      ).toBe(true);
    } finally {
      await configure(stack.providers!.graph, { latencyMs: 0 });
    }
    // DIRFAIL1 was ingested by the test above: seen already, not onboarded again.
    expect(progress).toMatchObject({
      phase: 'finished',
      already_seen: 1,
      batches: { total: 1, pending: 0, running: 0, completed: 1, failed: 0 },
      workflows: { total: 5, pending: 0, running: 0, completed: 5, failed: 0, with_warnings: 0 },
      error: null,
    });
    expect(Date.parse(progress.finished_at)).toBeGreaterThan(Date.parse(progress.created_at));

    const summary = (await api('GET', '/api/admin/tasks/summary', { token: admin })).body;
    const [counted] = await stack.workerDb<{ workflows: number; failed: number }[]>`
      SELECT count(*)::int AS workflows, count(*) FILTER (WHERE status = 'failed')::int AS failed FROM tasks WHERE type = 'workflow'`;
    expect(summary.workflow).toMatchObject({ total: counted!.workflows, failed: counted!.failed });
    expect(summary.workflow.failed).toBeGreaterThanOrEqual(2);
    expect(summary).toMatchObject({ stuck: 0, ingest: { running: 0 } });
    expect((await api('GET', '/api/admin/onboarding/00000000-0000-4000-8000-000000000000/progress', { token: admin })).status).toBe(404);
    expect((await api('GET', '/api/admin/onboarding/not-a-task/progress', { token: admin })).status).toBe(404);
    expect((await api('GET', '/api/admin/tasks/summary', { token: await token('g', 'guest') })).status).toBe(403);
  });

  it('rides out a 429 storm from the directory, honouring Retry-After', async () => {
    await configure(stack.providers!.graph, { rate429: 0.5, retryAfterSeconds: 0.2 });
    try {
      const { workflows } = await ingestAndWait({ students: students('STORM', 10) });
      expect(workflows.every((w) => w.status === 'completed')).toBe(true);
      const storm = (await calls(stack.providers!.graph)).filter((c) => c.subject?.startsWith('storm'));
      expect(storm.some((c) => c.status === 429)).toBe(true);
    } finally {
      await configure(stack.providers!.graph, { rate429: 0 });
    }
  });

  it('re-ingesting the same students creates no new account or e-mail', async () => {
    const before = { graph: (await calls(stack.providers!.graph)).length, mail: (await calls(stack.providers!.smtpAdmin)).length };
    const { ingest, batches } = await ingestAndWait({ students: students('NEW', 50) });
    expect(ingest.details).toMatchObject({ received: 50, new: 0, already_seen: 50 });
    expect(batches).toEqual([]);
    expect((await calls(stack.providers!.graph)).length).toBe(before.graph);
    expect((await calls(stack.providers!.smtpAdmin)).length).toBe(before.mail);
  });

  it('pulls new students from the student-information source when the request names none', async () => {
    const { ingest, workflows } = await ingestAndWait({});
    expect(ingest.details.source).toBe('student-information source');
    expect(ingest.entity_count).toBe(30);
    expect(workflows.filter((w) => w.status === 'completed')).toHaveLength(30);
  });

  it('finishes a batch whose worker is SIGKILLed mid-way, with no duplicate effect', async () => {
    // Slow the directory so the kill lands inside the batch.
    await configure(stack.providers!.graph, { latencyMs: 60 });
    const accepted = await api('POST', '/api/admin/onboarding/ingest', { token: admin, body: { students: students('KILL', 20) } });
    await eventually(
      async () => (await calls(stack.providers!.graph)).filter((c) => c.subject?.startsWith('kill') && c.op === 'users.create').length >= 3,
      30_000,
      20,
    );
    for (const worker of stack.processes.filter((p) => p.name.startsWith('worker-') && p.child.exitCode === null))
      worker.child.kill('SIGKILL');
    await configure(stack.providers!.graph, { latencyMs: 0 });
    await stack.startReplica('worker');
    await stack.startReplica('worker');
    let batches: Task[] = [];
    await eventually(async () => {
      batches = (await api<Task[]>('GET', `/api/admin/tasks?type=batch&parent_id=${accepted.body.task_id}`, { token: admin })).body;
      return batches.length === 1 && batches[0]!.status === 'completed';
    }, 60_000);
    const workflows = (await api<Task[]>('GET', `/api/admin/tasks?type=workflow&parent_id=${batches[0]!.id}`, { token: admin })).body;
    expect(workflows.filter((w) => w.status === 'completed')).toHaveLength(20);
    const created = (await calls(stack.providers!.graph)).filter(
      (c) => c.op === 'users.create' && c.status === 201 && c.subject?.startsWith('kill'),
    );
    expect(new Set(created.map((c) => c.subject)).size).toBe(created.length);
    const lmsCreated = (await calls(stack.providers!.moodle)).filter(
      (c) => c.op === 'core_user_create_users' && c.status === 200 && c.subject?.startsWith('kill'),
    );
    expect(new Set(lmsCreated.map((c) => c.subject)).size).toBe(lmsCreated.length);
    const mails = (await calls(stack.providers!.smtpAdmin)).filter((c) => c.subject?.includes('kill'));
    expect(new Set(mails.map((c) => c.subject)).size).toBe(mails.length);
    expect(mails.length).toBe(20);
  });

  it('re-queues a running batch whose worker died and whose message is gone (the reaper)', async () => {
    // What a dead worker leaves behind when its message is lost too: a batch marked running,
    // its heartbeat long stopped, and nothing in any queue.
    const db = stack.workerDb;
    const [ingest, batch, workflow] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await db`INSERT INTO tasks (id, type, status) VALUES (${ingest}, 'ingest', 'completed')`;
    await db`INSERT INTO tasks (id, type, status, parent_id, entity_count, started_at, heartbeat_at)
             VALUES (${batch}, 'batch', 'running', ${ingest}, 1, now() - interval '1 minute', now() - interval '1 minute')`;
    await db`INSERT INTO tasks (id, type, parent_id, student_id, entity_count, details)
             VALUES (${workflow}, 'workflow', ${batch}, 'REAPED1', 1, ${db.json({ student: { id: 'REAPED1', name: 'Re Aped', email: 'reaped1@example.com' } })})`;
    await db`INSERT INTO onboarded_students (student_id, name, email, workflow_task_id) VALUES ('REAPED1', 'Re Aped', 'reaped1@example.com', ${workflow})`;
    expect(
      await eventually(async () => (await api('GET', `/api/admin/tasks/${batch}`, { token: admin })).body.status === 'completed', 20_000),
    ).toBe(true);
    const done = (await api('GET', `/api/admin/tasks/${workflow}`, { token: admin })).body;
    expect(done).toMatchObject({
      status: 'completed',
      student_id: 'REAPED1',
      details: { user_principal_name: 'reaped1@students.cupo.test' },
    });
    expect((await api('GET', `/api/admin/tasks/${batch}`, { token: admin })).body.details.requeues).toBe(1);
  });

  it('announces again a pending batch nobody ever took (its message lost), once per stale window', async () => {
    // A batch written with its announcement, whose message then vanished (a purged or
    // re-created queue): pending, never claimed, in no queue.
    const db = stack.workerDb;
    const [ingest, batch, workflow] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await db`INSERT INTO tasks (id, type, status) VALUES (${ingest}, 'ingest', 'completed')`;
    await db`INSERT INTO tasks (id, type, status, parent_id, entity_count, created_at)
             VALUES (${batch}, 'batch', 'pending', ${ingest}, 1, now() - interval '1 minute')`;
    await db`INSERT INTO tasks (id, type, parent_id, student_id, entity_count, details)
             VALUES (${workflow}, 'workflow', ${batch}, 'LOST1', 1, ${db.json({ student: { id: 'LOST1', name: 'Lo St', email: 'lost1@example.com' } })})`;
    await db`INSERT INTO onboarded_students (student_id, name, email, workflow_task_id) VALUES ('LOST1', 'Lo St', 'lost1@example.com', ${workflow})`;
    expect(
      await eventually(async () => (await api('GET', `/api/admin/tasks/${batch}`, { token: admin })).body.status === 'completed', 20_000),
    ).toBe(true);
    expect((await api('GET', `/api/admin/tasks/${workflow}`, { token: admin })).body).toMatchObject({
      status: 'completed',
      student_id: 'LOST1',
    });
  });

  it('validates the config and reports stuck tasks on request', async () => {
    for (const bad of [{ batch_size: 0, ...RATES }, { batch_size: 5, ...RATES, rate_limit_lms_per_min: -1 }, { batch_size: 5 }]) {
      const response = await api('PUT', '/api/admin/config', { token: admin, body: bad });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    }
    expect((await api('GET', '/api/admin/config', { token: admin })).body).toMatchObject({ batch_size: 20 });
    expect((await api('GET', '/api/admin/config', { token: await token('g', 'guest') })).status).toBe(403);
    const stuck = await api('GET', '/api/admin/tasks?stuck=true', { token: admin });
    expect(stuck.status).toBe(200);
    expect(stuck.body).toEqual([]);
  });
});
