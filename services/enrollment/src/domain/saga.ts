import type { FailureReason, SagaStatus, SectionOutcome } from '@cupo/contracts';

export type StepStatus = 'pending' | 'completed' | 'failed' | 'compensated' | 'skipped';

export interface SagaStep {
  name: 'validate_request' | 'reserve_seat' | 'confirm_enrollment';
  section?: string;
  status: StepStatus;
  error?: FailureReason;
}

export interface Saga {
  id: string;
  status: SagaStatus;
  steps: SagaStep[];
  failure?: FailureReason & { section?: string };
}

/** The statuses a saga ends in: nothing is held, nothing more will happen to it. */
export const FINISHED_SAGA_STATUSES = ['completed', 'compensated', 'failed'] as const satisfies readonly SagaStatus[];
export type FinishedSagaStatus = (typeof FINISHED_SAGA_STATUSES)[number];

/** Whether a saga in this status has ended (the one definition of "finished"). */
export function isFinished(status: SagaStatus): status is FinishedSagaStatus {
  return (FINISHED_SAGA_STATUSES as readonly SagaStatus[]).includes(status);
}

/** What the saga does next; each action is one transaction that persists its outcome. */
export type SagaAction =
  | { kind: 'validate' }
  | { kind: 'reserve'; section: string }
  | { kind: 'confirm' }
  | { kind: 'release'; section: string }
  | { kind: 'fail' }
  | { kind: 'finished' };

/**
 * The plan for a request: validate, take each seat in the order asked for, confirm. All or
 * nothing: a refused seat makes the saga compensate (give back the seats already taken,
 * newest first) and end `compensated`.
 */
export function planSaga(id: string, sections: readonly string[]): Saga {
  return {
    id,
    status: 'running',
    steps: [
      { name: 'validate_request', status: 'pending' },
      ...sections.map((section): SagaStep => ({ name: 'reserve_seat', section, status: 'pending' })),
      { name: 'confirm_enrollment', status: 'pending' },
    ],
  };
}

export function nextAction(saga: Saga): SagaAction {
  if (isFinished(saga.status)) return { kind: 'finished' };
  if (saga.status === 'compensating') {
    const held = [...saga.steps].reverse().find((s) => s.name === 'reserve_seat' && s.status === 'completed');
    return held ? { kind: 'release', section: held.section! } : { kind: 'fail' };
  }
  const step = saga.steps.find((s) => s.status === 'pending');
  if (!step) return { kind: 'finished' };
  if (step.name === 'validate_request') return { kind: 'validate' };
  if (step.name === 'reserve_seat') return { kind: 'reserve', section: step.section! };
  return { kind: 'confirm' };
}

const update = (saga: Saga, match: (s: SagaStep) => boolean, change: Partial<SagaStep>): SagaStep[] =>
  saga.steps.map((s) => (match(s) ? { ...s, ...change } : s));

export function validated(saga: Saga): Saga {
  return { ...saga, steps: update(saga, (s) => s.name === 'validate_request', { status: 'completed' }) };
}

/** A refusal before any seat was taken: nothing to give back. */
export function validationFailed(saga: Saga, error: FailureReason): Saga {
  const steps = saga.steps.map(
    (s): SagaStep => (s.name === 'validate_request' ? { ...s, status: 'failed', error } : { ...s, status: 'skipped' }),
  );
  return { ...saga, status: 'failed', steps, failure: error };
}

export function reserved(saga: Saga, section: string): Saga {
  return { ...saga, steps: update(saga, (s) => s.name === 'reserve_seat' && s.section === section, { status: 'completed' }) };
}

export function reserveFailed(saga: Saga, section: string, error: FailureReason): Saga {
  const steps = saga.steps.map((s): SagaStep => {
    if (s.name === 'reserve_seat' && s.section === section) return { ...s, status: 'failed', error };
    if (s.status === 'pending') return { ...s, status: 'skipped' };
    return s;
  });
  return { ...saga, status: 'compensating', steps, failure: { ...error, section } };
}

/** Gives up a saga that cannot go on (its processing kept failing): compensate what it holds. */
export function abandoned(saga: Saga, error: FailureReason): Saga {
  const steps = saga.steps.map((s): SagaStep => (s.status === 'pending' ? { ...s, status: 'skipped' } : s));
  return { ...saga, status: 'compensating', steps, failure: error };
}

export function released(saga: Saga, section: string): Saga {
  return {
    ...saga,
    steps: update(saga, (s) => s.name === 'reserve_seat' && s.section === section, { status: 'compensated' }),
  };
}

export function confirmed(saga: Saga): Saga {
  return {
    ...saga,
    status: 'completed',
    steps: update(saga, (s) => s.name === 'confirm_enrollment', { status: 'completed' }),
  };
}

export function compensationFinished(saga: Saga): Saga {
  const gaveBack = saga.steps.some((s) => s.status === 'compensated');
  return { ...saga, status: gaveBack ? 'compensated' : 'failed' };
}

/** Where each asked-for section stands, as the request's status shows it. */
export function sectionOutcomes(
  sections: readonly string[],
  saga: Saga | undefined,
): { code: string; status: SectionOutcome; error?: FailureReason }[] {
  return sections.map((code) => {
    const step = saga?.steps.find((s) => s.name === 'reserve_seat' && s.section === code);
    if (!step || !saga) return { code, status: 'pending' };
    switch (step.status) {
      case 'completed':
        return { code, status: saga.status === 'completed' ? 'enrolled' : 'reserved' };
      case 'failed':
        return { code, status: 'failed', ...(step.error ? { error: step.error } : {}) };
      case 'compensated':
        return { code, status: 'released' };
      case 'skipped':
        return { code, status: 'not_attempted' };
      default:
        return { code, status: 'pending' };
    }
  });
}
