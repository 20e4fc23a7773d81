import type { Logger } from '@cupo/service-kit';
import { providerCall } from './provider-call.js';
import type { Directory, Lms, Mailer, OnboardingMetrics, OnboardingStore, RateLimiter, WorkflowUnit } from './ports.js';

export interface BatchDeps {
  store: OnboardingStore;
  directory: Directory;
  lms: Lms;
  mailer: Mailer;
  limiter: RateLimiter;
  metrics: OnboardingMetrics;
  logger: Logger;
  heartbeatMs: number;
  /** Workflows of one batch run at once (the rate limits pace them anyway). */
  concurrency: number;
}

interface StepRecord {
  name: string;
  status: 'completed' | 'failed' | 'skipped';
  ms: number;
  error?: string;
  created?: boolean;
}

/**
 * A batch: runs each of its students' workflows that has not ended yet, then records the
 * batch's outcome. A redelivered batch (its worker died) resumes here: finished workflows are
 * skipped, and an interrupted one starts over, safely, because each step first looks for
 * what it would create.
 */
export async function runBatch(deps: BatchDeps, batchId: string): Promise<void> {
  if (!(await deps.store.start(batchId))) return;
  const started = Date.now();
  const heartbeat = setInterval(() => void deps.store.heartbeat(batchId).catch(() => undefined), deps.heartbeatMs);
  try {
    const config = await deps.store.getConfig();
    const workflows = await deps.store.batchWorkflows(batchId);
    const open = workflows.filter((w) => w.status === 'pending' || w.status === 'running');
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(deps.concurrency, open.length) }, async () => {
        while (next < open.length) await runWorkflow(deps, config, open[next++]!);
      }),
    );
    const ended = await deps.store.batchWorkflows(batchId);
    const failed = ended.filter((w) => w.status === 'failed').length;
    await deps.store.finish(batchId, 'completed', { completed: ended.length - failed, failed, seconds: (Date.now() - started) / 1000 });
    deps.metrics.batch((Date.now() - started) / 1000);
    deps.logger.info({ taskId: batchId, workflows: ended.length, failed, ms: Date.now() - started }, 'batch completed');
  } finally {
    clearInterval(heartbeat);
  }
}

async function runWorkflow(deps: BatchDeps, config: import('@cupo/contracts').OnboardingConfig, workflow: WorkflowUnit): Promise<void> {
  const { student } = workflow;
  const logger = deps.logger.child({ taskId: workflow.taskId, studentId: student.id });
  await deps.store.start(workflow.taskId);
  const steps: StepRecord[] = [];
  const call = (provider: 'directory' | 'lms' | 'email') => providerCall(provider, { limiter: deps.limiter, metrics: deps.metrics, config });
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      const result = await work();
      steps.push({ name, status: 'completed', ms: Date.now() - t0, ...(typeof result === 'object' && result && 'created' in result ? { created: Boolean((result as { created: unknown }).created) } : {}) });
      return result;
    } catch (error) {
      steps.push({ name, status: 'failed', ms: Date.now() - t0, error: (error as Error).message });
      throw error;
    }
  };

  // (1) Directory account — critical: without it there is nothing to enrol or announce.
  let upn: string;
  try {
    upn = (await timed('directory_account', () => deps.directory.ensureAccount(student, call('directory')))).upn;
  } catch (error) {
    steps.push({ name: 'lms_enrolment', status: 'skipped', ms: 0 }, { name: 'welcome_email', status: 'skipped', ms: 0 });
    await deps.store.finish(workflow.taskId, 'failed', { steps, errors: [`directory: ${(error as Error).message}`] });
    deps.metrics.workflow('failed');
    logger.warn({ err: (error as Error).message }, 'workflow failed at the directory');
    return;
  }
  const warnings: string[] = [];
  // (2) LMS enrolment and (3) welcome e-mail — non-critical: a failure becomes a warning.
  try {
    await timed('lms_enrolment', () => deps.lms.ensureEnrolled(student, call('lms')));
  } catch (error) {
    warnings.push(`lms: ${(error as Error).message}`);
  }
  try {
    const sent = await deps.store.effectDone(student.id, 'welcome_email');
    if (sent) steps.push({ name: 'welcome_email', status: 'skipped', ms: 0, error: `already sent (${sent})` });
    else {
      const { messageId } = await timed('welcome_email', () => deps.mailer.sendWelcome(student, upn, call('email')));
      await deps.store.recordEffect(student.id, 'welcome_email', messageId);
    }
  } catch (error) {
    warnings.push(`email: ${(error as Error).message}`);
  }
  await deps.store.finish(workflow.taskId, 'completed', { user_principal_name: upn, steps, warnings });
  deps.metrics.workflow(warnings.length ? 'completed_with_warnings' : 'completed');
}
