import type { FailureReason } from '@cupo/contracts';
import { DomainError } from '@cupo/errors';
import { checkRequest, checkSeat } from '../domain/enrollment-rules.js';
import { ProcessingFailedError, SectionNotFoundError } from '../domain/errors.js';
import {
  abandoned,
  compensationFinished,
  confirmed,
  nextAction,
  planSaga,
  released,
  reserveFailed,
  reserved,
  validated,
  validationFailed,
  type Saga,
} from '../domain/saga.js';
import type { EnrollmentMetrics, EnrollmentStore, SagaUnitOfWork } from './ports.js';

type FinishedReport = Parameters<EnrollmentMetrics['finished']>[0];
/** `done` once the saga has ended; `report` when this very step ended it (metrics after commit). */
type StepResult = { done: boolean; report?: FinishedReport };
const CONTINUE: StepResult = { done: false };
const DONE: StepResult = { done: true };

export interface ProcessDeps {
  store: EnrollmentStore;
  metrics: EnrollmentMetrics;
}

/** A saga has at most 2 + 2·sections steps; this bounds a loop that a bug could make endless. */
const MAX_STEPS = 64;

const reasonOf = (error: DomainError): FailureReason => ({ code: error.code, detail: error.message });

/**
 * Runs a request's saga to its end, one step per transaction. Each step reads the saga's
 * state under the request's row lock and does only what is still to do, so this is safe to
 * run twice at once (a redelivered message) and resumes a saga that a dead consumer left
 * half-done: seats taken are either confirmed or given back, never left held.
 *
 * Refusals (SECTION_FULL, SCHEDULE_CONFLICT, …) are outcomes, not errors: the request ends
 * `failed` with the reason and the message is acked. Anything else throws, and the consumer
 * retries the message with backoff.
 */
export async function processEnrollmentRequest(deps: ProcessDeps, requestId: string): Promise<void> {
  for (let i = 0; i < MAX_STEPS; i++) {
    const result = await deps.store.inSaga(requestId, (unit) => step(unit));
    if (result?.report) deps.metrics.finished(result.report);
    if (result === undefined || result.done) return;
  }
  throw new Error(`saga ${requestId} did not finish within ${MAX_STEPS} steps`);
}

/**
 * Gives up on a request whose processing keeps failing (the consumer's last attempt): its
 * saga compensates whatever it holds and the request ends `failed` with PROCESSING_FAILED.
 */
export async function abandonEnrollmentRequest(
  deps: ProcessDeps,
  requestId: string,
  attempts: number,
  cause: string,
): Promise<void> {
  const reason = reasonOf(new ProcessingFailedError(attempts, cause));
  const result = await deps.store.inSaga(requestId, async (unit): Promise<StepResult> => {
    if (unit.request.status === 'completed' || unit.request.status === 'failed') return DONE;
    const saga = unit.saga?.saga;
    if (!saga || saga.steps[0]?.status === 'pending') {
      await unit.saveSaga(validationFailed(saga ?? planSaga(requestId, unit.request.sections), reason));
      return finish(unit, { status: 'failed', error: reason }, 0);
    }
    if (saga.status === 'running') await unit.saveSaga(abandoned(saga, reason));
    return CONTINUE;
  });
  if (result?.report) deps.metrics.finished(result.report);
  if (result && !result.done) await processEnrollmentRequest(deps, requestId);
}

async function step(unit: SagaUnitOfWork): Promise<StepResult> {
  const { request } = unit;
  if (request.status === 'completed' || request.status === 'failed') return DONE;
  const saga: Saga = unit.saga?.saga ?? planSaga(request.id, request.sections);
  const action = nextAction(saga);

  switch (action.kind) {
    case 'finished':
      return DONE;

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
        await unit.saveSaga(validationFailed(saga, reasonOf(error)));
        return finish(unit, { status: 'failed', error: reasonOf(error) }, 0);
      }
      await unit.saveSaga(validated(saga));
      return CONTINUE;
    }

    case 'reserve': {
      const { section, seats } = await unit.lockSeat(action.section);
      try {
        if (!section) throw new SectionNotFoundError(action.section, request.term);
        checkSeat({ studentId: request.studentId, section, seats });
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        await unit.saveSaga(reserveFailed(saga, action.section, reasonOf(error)));
        return CONTINUE;
      }
      await unit.takeSeat(section);
      await unit.saveSaga(reserved(saga, action.section));
      return CONTINUE;
    }

    case 'release':
      await unit.releaseSeat(action.section);
      await unit.saveSaga(released(saga, action.section));
      return CONTINUE;

    case 'confirm':
      await unit.activateSeats();
      await unit.saveSaga(confirmed(saga));
      return finish(unit, { status: 'completed' }, 0);

    case 'fail': {
      const ended = compensationFinished(saga);
      await unit.saveSaga(ended);
      const failure = saga.failure ?? { code: 'PROCESSING_FAILED', detail: 'The request could not be processed' };
      const compensations = ended.steps.filter((s) => s.status === 'compensated').length;
      return finish(unit, { status: 'failed', error: { code: failure.code, detail: failure.detail } }, compensations);
    }
  }
}

async function finish(
  unit: SagaUnitOfWork,
  outcome: { status: 'completed' } | { status: 'failed'; error: FailureReason },
  compensations: number,
): Promise<StepResult> {
  await unit.finish(outcome);
  return {
    done: true,
    report: {
      status: outcome.status,
      ...(outcome.status === 'failed' ? { code: outcome.error.code } : {}),
      acceptedAt: unit.request.acceptedAt,
      ...(unit.saga ? { sagaStartedAt: unit.saga.startedAt } : {}),
      compensations,
    },
  };
}
