import { setTimeout as sleep } from 'node:timers/promises';
import type { IncomingStudent, OnboardingConfig } from '@cupo/contracts';
import { isTransient } from '@cupo/errors';
import type { Logger } from '@cupo/service-kit';
import { EffectHeldError } from '../../domain/errors.js';
import { providerCall } from './provider-call.js';
import {
  ProviderRejectedError,
  type Directory,
  type Lms,
  type Mailer,
  type OnboardingMetrics,
  type OnboardingStore,
  type ProviderCall,
  type RateLimiter,
  type WorkflowUnit,
} from './ports.js';

export interface WorkflowDeps {
  store: OnboardingStore;
  directory: Directory;
  lms: Lms;
  mailer: Mailer;
  limiter: RateLimiter;
  metrics: OnboardingMetrics;
  logger: Logger;
  /** How long a claim lasts unless its run's heartbeat renews it. */
  leaseMs: number;
  /** A workflow's attempts, and the backoff between them. */
  retry: { maxAttempts: number; initialMs: number; maxMs: number };
  /** The e-mails this process sent and could not record yet: see {@link UnrecordedSends}. */
  unrecorded: UnrecordedSends;
}

/**
 * Welcome e-mails this process handed to the SMTP server and could not record yet (the
 * database was away): student id → Message-ID. One per process, not per run: a workflow that
 * hands itself back (our infrastructure kept failing) or a batch run that ends takes nothing
 * with it, so the batch's next run here records the e-mail instead of sending it again once
 * the first run's claim on it has run out. Emptied by the workflow's next attempt, first thing,
 * and by {@link recordUnrecordedSends} on a timer, whichever reaches the database first.
 */
export type UnrecordedSends = Map<string, string>;

/** One run of a batch, shared by its workflows. */
export interface BatchRun {
  owner: string;
  /** Aborts when the run must hand its work back (shutdown, or its batch's lease was lost). */
  signal: AbortSignal;
  config: OnboardingConfig;
}

/** `ended`: completed or failed for good. `handed_back`: left for another run (released, or held elsewhere). */
export type WorkflowOutcome = 'ended' | 'handed_back';

interface StepRecord {
  name: string;
  status: 'completed' | 'failed' | 'skipped';
  ms: number;
  error?: string;
  created?: boolean;
  note?: string;
}

type Attempt =
  | {
      kind: 'ended';
      status: 'completed' | 'failed';
      outcome: 'completed' | 'completed_with_warnings' | 'failed';
      details: Record<string, unknown>;
    }
  /** Worth another attempt. `ours`: our own infrastructure failed (Redis, PostgreSQL), which costs the workflow no attempt. */
  | { kind: 'retry'; error: unknown; ours: boolean }
  | { kind: 'interrupted' };

const WELCOME_EMAIL = 'welcome_email';

/**
 * One student's workflow, under its own claim: (1) directory account — critical, (2) LMS
 * enrolment and (3) welcome e-mail — a definitive refusal there is only a warning.
 *
 * A provider that is away (5xx, timeouts, a 429 storm outlasting its retries) costs an attempt
 * and the workflow runs again after a backoff, from the start — safely, because each step
 * finds what an earlier attempt created and the e-mail is claimed and recorded. Only the last
 * of `maxAttempts` takes such a failure as final. Our own infrastructure being away (Redis,
 * PostgreSQL) costs nothing: the workflow waits for it, and after `maxAttempts` such waits in
 * a row hands itself back (its batch goes back to the queue). Shutdown or a lost lease
 * interrupts it between steps and requests: it is released, attempt refunded, for the next run.
 */
export async function runWorkflow(deps: WorkflowDeps, run: BatchRun, workflow: WorkflowUnit): Promise<WorkflowOutcome> {
  const logger = deps.logger.child({ taskId: workflow.taskId, studentId: workflow.student.id });
  let attempts = 0;
  let outages = 0;
  for (;;) {
    if (run.signal.aborted) return 'handed_back';
    let attempt: Attempt;
    let claimed = false;
    try {
      const claim = await deps.store.claim(workflow.taskId, run.owner, deps.leaseMs);
      if (!claim.claimed) return claim.state === 'held' ? 'handed_back' : 'ended';
      claimed = true;
      attempts = claim.attempts;
      attempt = await attemptSteps(deps, run, workflow.student, attempts >= deps.retry.maxAttempts);
      if (attempt.kind === 'ended') {
        if (await deps.store.finish(workflow.taskId, run.owner, attempt.status, { ...attempt.details, attempts })) {
          deps.metrics.workflow(attempt.outcome);
        }
        return 'ended';
      }
    } catch (error) {
      // Only our own store lands here: the steps' errors come back as outcomes.
      attempt = { kind: 'retry', error, ours: true };
    }
    if (run.signal.aborted) attempt = { kind: 'interrupted' };
    if (claimed) {
      const refund = attempt.kind === 'interrupted' || attempt.ours;
      await deps.store
        .release(workflow.taskId, run.owner, { refund, details: attempt.kind === 'retry' ? { last_error: describe(attempt.error) } : {} })
        .catch((error: unknown) => logger.warn({ err: describe(error) }, 'could not release the workflow; its lease will run out'));
    }
    if (attempt.kind === 'interrupted') return 'handed_back';
    outages = attempt.ours ? outages + 1 : 0;
    if (outages > deps.retry.maxAttempts) {
      logger.warn({ err: describe(attempt.error) }, 'our infrastructure keeps failing; workflow handed back');
      return 'handed_back';
    }
    const delay = backoff(deps.retry, attempt.ours ? outages : attempts);
    logger.warn({ err: describe(attempt.error), ours: attempt.ours, attempts, retryInMs: delay }, 'workflow attempt failed; retrying');
    try {
      await sleep(delay, undefined, { signal: run.signal });
    } catch {
      return 'handed_back';
    }
  }
}

async function attemptSteps(deps: WorkflowDeps, run: BatchRun, student: IncomingStudent, lastAttempt: boolean): Promise<Attempt> {
  const steps: StepRecord[] = [];
  const call = (provider: 'directory' | 'lms' | 'email') =>
    providerCall(provider, { limiter: deps.limiter, metrics: deps.metrics, config: run.config, signal: run.signal });
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    run.signal.throwIfAborted();
    const t0 = Date.now();
    try {
      const result = await work();
      const created = typeof result === 'object' && result && 'created' in result ? { created: Boolean(result.created) } : {};
      steps.push({ name, status: 'completed', ms: Date.now() - t0, ...created });
      return result;
    } catch (error) {
      steps.push({ name, status: 'failed', ms: Date.now() - t0, error: describe(error) });
      throw error;
    }
  };
  // A step's error: another attempt, or (`final`) the step's outcome.
  const judge = (error: unknown): Attempt | 'final' => {
    if (run.signal.aborted) return { kind: 'interrupted' };
    if (isTransient(error)) return { kind: 'retry', error, ours: true };
    if (error instanceof ProviderRejectedError || lastAttempt) return 'final';
    return { kind: 'retry', error, ours: false };
  };
  const reason = (error: unknown) =>
    error instanceof ProviderRejectedError ? describe(error) : `gave up after ${deps.retry.maxAttempts} attempts: ${describe(error)}`;

  // (0) An e-mail this process sent and could not record: recorded before anything else, so
  // no other step being away (a directory breaker open) keeps it unrecorded until the claim
  // on it runs out and some run sends it again.
  let recordedLate: string | undefined;
  const unrecorded = deps.unrecorded.get(student.id);
  if (unrecorded !== undefined) {
    try {
      await recordSend(deps, student.id, unrecorded);
      recordedLate = unrecorded;
    } catch (error) {
      return { kind: 'retry', error, ours: true };
    }
  }

  // (1) Directory account — critical: without it there is nothing to enrol or announce.
  let upn: string;
  try {
    upn = (await step('directory_account', () => deps.directory.ensureAccount(student, call('directory')))).upn;
  } catch (error) {
    const verdict = judge(error);
    if (verdict !== 'final') return verdict;
    steps.push({ name: 'lms_enrolment', status: 'skipped', ms: 0 }, { name: WELCOME_EMAIL, status: 'skipped', ms: 0 });
    return { kind: 'ended', status: 'failed', outcome: 'failed', details: { steps, errors: [`directory: ${reason(error)}`] } };
  }
  const warnings: string[] = [];
  // (2) LMS enrolment and (3) welcome e-mail — non-critical: a final failure is a warning.
  try {
    await step('lms_enrolment', () => deps.lms.ensureEnrolled(student, call('lms')));
  } catch (error) {
    const verdict = judge(error);
    if (verdict !== 'final') return verdict;
    warnings.push(`lms: ${reason(error)}`);
  }
  const t0 = Date.now();
  try {
    run.signal.throwIfAborted();
    const sent =
      recordedLate !== undefined
        ? { note: `sent earlier (${recordedLate}); recorded once the database was back` }
        : await sendWelcomeOnce(deps, run, student, upn, call('email'));
    if (sent.alreadySent !== undefined)
      steps.push({ name: WELCOME_EMAIL, status: 'skipped', ms: 0, error: `already sent (${sent.alreadySent})` });
    else steps.push({ name: WELCOME_EMAIL, status: 'completed', ms: Date.now() - t0, ...(sent.note ? { note: sent.note } : {}) });
  } catch (error) {
    steps.push({ name: WELCOME_EMAIL, status: 'failed', ms: Date.now() - t0, error: describe(error) });
    const verdict = judge(error);
    if (verdict !== 'final') return verdict;
    warnings.push(`email: ${reason(error)}`);
  }
  return {
    kind: 'ended',
    status: 'completed',
    outcome: warnings.length ? 'completed_with_warnings' : 'completed',
    details: { user_principal_name: upn, steps, warnings },
  };
}

/**
 * Claim, send, confirm. The claim keeps two runs from both sending; the confirmation keeps a
 * later run from sending again. A send that failed frees the claim (it is tried again later). A
 * send whose record failed is kept in `deps.unrecorded` and recorded, never sent again, by
 * this process (see UnrecordedSends). Only an owner that dies (or loses the database for
 * longer than the lease while others keep it) after the SMTP server accepted the mail and
 * before confirming leaves a claim that the next run takes over once its lease ends, and that
 * run sends again, with the same Message-ID, so the recipient's system can drop the copy:
 * at-least-once in that one window, because a welcome that never arrives leaves a student
 * without their account, and the window is one SMTP exchange wide.
 */
async function sendWelcomeOnce(
  deps: WorkflowDeps,
  run: BatchRun,
  student: IncomingStudent,
  upn: string,
  call: ProviderCall,
): Promise<{ alreadySent?: string | null; note?: string }> {
  let note: string | undefined;
  const claim = await deps.store.claimEffect(student.id, WELCOME_EMAIL, run.owner, deps.leaseMs);
  if (claim.state === 'done') return { alreadySent: claim.externalId };
  if (claim.state === 'held') throw new EffectHeldError(student.id, WELCOME_EMAIL);
  if (claim.takeover) note = 'sent again (same Message-ID): an earlier run claimed it and stopped before recording it';
  let messageId: string;
  try {
    messageId = (await deps.mailer.sendWelcome(student, upn, call)).messageId;
  } catch (error) {
    await deps.store.releaseEffect(student.id, WELCOME_EMAIL, run.owner).catch(() => undefined);
    throw error;
  }
  // Sent: from here on this process records it and never sends it again, whatever fails next.
  deps.unrecorded.set(student.id, messageId);
  await recordSend(deps, student.id, messageId);
  return note ? { note } : {};
}

async function recordSend(deps: Pick<WorkflowDeps, 'store' | 'unrecorded'>, studentId: string, messageId: string): Promise<void> {
  await deps.store.confirmEffect(studentId, WELCOME_EMAIL, messageId);
  if (deps.unrecorded.get(studentId) === messageId) deps.unrecorded.delete(studentId);
}

/**
 * Records every e-mail this process sent and could not record yet (run on a timer): as soon as
 * the database is back, not only when the workflow's next attempt comes round, so the claim on
 * the e-mail does not run out and let another replica send it again. Returns how many it
 * recorded; one that still fails stays for the next pass.
 */
export async function recordUnrecordedSends(deps: Pick<WorkflowDeps, 'store' | 'unrecorded'>): Promise<number> {
  let recorded = 0;
  for (const [studentId, messageId] of [...deps.unrecorded]) {
    try {
      await recordSend(deps, studentId, messageId);
      recorded += 1;
    } catch {
      // Still away: the next pass, or the workflow's next attempt, tries again.
    }
  }
  return recorded;
}

/** Exponential, with half of it jittered: the retries of many workflows do not line up. */
function backoff(retry: { initialMs: number; maxMs: number }, n: number): number {
  const ceiling = Math.min(retry.maxMs, retry.initialMs * 2 ** Math.max(0, n - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 500);
}
