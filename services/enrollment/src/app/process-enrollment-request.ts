import { trace } from '@opentelemetry/api';
import type { FailureReason } from '@cupo/contracts';
import { DomainError } from '@cupo/errors';
import { checkRequest, checkSeat } from '../domain/enrollment-rules.js';
import { ProcessingFailedError, SectionNotFoundError } from '../domain/errors.js';
import {
  abandoned,
  compensationFinished,
  confirmed,
  isFinished,
  nextAction,
  planSaga,
  released,
  reserveFailed,
  reserved,
  validated,
  validationFailed,
  type Saga,
  type SagaAction,
} from '../domain/saga.js';
import type { EnrollmentMetrics, SagaPrefetch, SagaStore, SagaUnitOfWork } from './ports.js';

type FinishedReport = Parameters<EnrollmentMetrics['finished']>[0];
/**
 * `done` once the saga has ended; `report` when this very step ended it (metrics after
 * commit); `saga`, the state it left, tells the next transaction what to read with its lock.
 */
type StepResult = { done: boolean; report?: FinishedReport; saga?: Saga };
const CONTINUE: StepResult = { done: false };
const DONE: StepResult = { done: true };

export interface ProcessDeps {
  store: SagaStore;
  metrics: EnrollmentMetrics;
}

/** A saga has at most 2 + 2·sections steps; this bounds a loop that a bug could make endless. */
const MAX_TRANSACTIONS = 64;

const reasonOf = (error: DomainError): FailureReason => ({ code: error.code, detail: error.message });

/**
 * Runs a request's saga to its end. Every transaction reads the saga's state under the
 * request's row lock and does only what is still to do, so this is safe to run twice at
 * once (a redelivered message) and resumes a saga that a dead consumer left half-done:
 * seats taken are either confirmed or given back, never left held.
 *
 * A transaction locks at most one section (one seat taken or given back), with the steps
 * that need no section lock joining it: validate + first seat, …, last seat + confirm.
 * Taking two sections' locks in one transaction would let two requests asking for the same
 * sections in opposite orders deadlock, and would hold the busiest rows longer.
 *
 * Refusals (SECTION_FULL, SCHEDULE_CONFLICT, …) are outcomes, not errors: the request ends
 * `failed` with the reason and the message is acked. Anything else throws, and the consumer
 * retries the message with backoff.
 */
export async function processEnrollmentRequest(deps: ProcessDeps, requestId: string): Promise<void> {
  // A request met for the first time is most likely queued: its validation and first seat.
  let prefetch: SagaPrefetch = { facts: true, seat: { first: true } };
  for (let i = 0; i < MAX_TRANSACTIONS; i++) {
    const result = await deps.store.inSaga(requestId, (unit) => runSteps(unit), prefetch);
    if (result?.report) deps.metrics.finished(result.report);
    if (result === undefined || result.done) return;
    prefetch = result.saga ? prefetchFor(result.saga) : {};
  }
  throw new Error(`saga ${requestId} did not finish within ${MAX_TRANSACTIONS} transactions`);
}

/**
 * Gives up on a request whose processing keeps failing (the consumer's last attempt): its
 * saga compensates whatever it holds and the request ends `failed` with PROCESSING_FAILED.
 */
export async function abandonEnrollmentRequest(deps: ProcessDeps, requestId: string, attempts: number, cause: string): Promise<void> {
  const reason = reasonOf(new ProcessingFailedError(attempts, cause));
  const result = await deps.store.inSaga(requestId, async (unit): Promise<StepResult> => {
    if (unit.request.status === 'completed' || unit.request.status === 'failed') return DONE;
    const saga = unit.saga?.saga;
    if (!saga || saga.steps[0]?.status === 'pending') {
      unit.saveSaga(validationFailed(saga ?? planSaga(requestId, unit.request.sections), reason));
      return finish(unit, { status: 'failed', error: reason }, 0);
    }
    if (saga.status === 'running') unit.saveSaga(abandoned(saga, reason));
    return CONTINUE;
  });
  if (result?.report) deps.metrics.finished(result.report);
  if (result && !result.done) await processEnrollmentRequest(deps, requestId);
}

/**
 * What the next transaction will read, judged from the state the last one left: the seat
 * lock of the next reservation. Only a hint — if another consumer moved the saga on
 * meanwhile, the transaction finds out under the lock and does what is really next.
 */
export function prefetchFor(saga: Saga): SagaPrefetch {
  const action = nextAction(saga);
  if (action.kind === 'validate') return { facts: true, seat: { first: true } };
  if (action.kind === 'reserve') return { seat: { section: action.section } };
  return {};
}

/** The steps of one transaction; the saga's new state is saved once, at its end. */
async function runSteps(unit: SagaUnitOfWork): Promise<StepResult> {
  const { request } = unit;
  if (request.status === 'completed' || request.status === 'failed') return DONE;
  const initial = unit.saga?.saga ?? planSaga(request.id, request.sections);
  let saga = initial;
  // A seat lock the store took with the saga's counts as this transaction's one.
  let seatLocked: string | undefined = unit.lockedSeat;
  let result: StepResult = CONTINUE;
  for (;;) {
    const action = nextAction(saga);
    if (action.kind === 'finished') {
      result = DONE;
      break;
    }
    if (action.kind === 'reserve' || action.kind === 'release') {
      const usesHeldLock = seatLocked === action.section && action.kind === 'reserve' && unit.lockedSeat === action.section;
      if (seatLocked !== undefined && !usesHeldLock) break;
      seatLocked = action.section;
    }
    const current = saga;
    saga = await tracer.startActiveSpan(`saga step ${action.kind}`, { attributes: stepAttributes(request.id, action) }, (span) =>
      step(unit, current, action).finally(() => span.end()),
    );
    if (isFinished(saga.status)) {
      const compensations = saga.steps.filter((s) => s.status === 'compensated').length;
      const error = saga.failure ? { code: saga.failure.code, detail: saga.failure.detail } : undefined;
      result = finish(unit, error ? { status: 'failed', error } : { status: 'completed' }, compensations);
      break;
    }
  }
  if (saga !== initial || !unit.saga) unit.saveSaga(saga);
  return { ...result, saga };
}

/** Each step is a span in the request's trace (which began at its 202 and crossed the outbox). */
const tracer = trace.getTracer('@cupo/enrollment');
const stepAttributes = (requestId: string, action: SagaAction) => ({
  'cupo.request_id': requestId,
  'cupo.saga.step': action.kind,
  ...('section' in action && typeof action.section === 'string' ? { 'cupo.section': action.section } : {}),
});

/** Performs one action inside the transaction and returns the saga's next state. */
async function step(unit: SagaUnitOfWork, saga: Saga, action: SagaAction): Promise<Saga> {
  const { request } = unit;
  switch (action.kind) {
    case 'validate': {
      const facts = await unit.requestFacts();
      try {
        checkRequest({
          studentId: request.studentId,
          student: facts.student,
          termCode: request.term,
          term: facts.term,
          requested: request.sections,
          sections: facts.sections,
        });
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        return validationFailed(saga, reasonOf(error));
      }
      return validated(saga);
    }

    case 'reserve': {
      const { section, seats } = await unit.lockSeat(action.section);
      try {
        if (!section) throw new SectionNotFoundError(action.section, request.term);
        checkSeat({ studentId: request.studentId, section, seats });
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        return reserveFailed(saga, action.section, reasonOf(error));
      }
      unit.takeSeat(section);
      return reserved(saga, action.section);
    }

    case 'release':
      unit.releaseSeat(action.section);
      return released(saga, action.section);

    case 'confirm':
      unit.activateSeats();
      return confirmed(saga);

    case 'fail':
      return compensationFinished(saga);

    case 'finished':
      return saga;
  }
}

function finish(
  unit: SagaUnitOfWork,
  outcome: { status: 'completed' } | { status: 'failed'; error: FailureReason },
  compensations: number,
): StepResult {
  unit.finish(outcome);
  return {
    done: true,
    report: {
      status: outcome.status,
      ...(outcome.status === 'failed' ? { code: outcome.error.code } : {}),
      acceptedAt: unit.request.acceptedAt,
      sagaStartedAt: unit.saga?.startedAt ?? new Date(),
      compensations,
    },
  };
}
