import { describe, expect, it } from 'vitest';
import {
  compensationFinished,
  confirmed,
  nextAction,
  planSaga,
  released,
  reserveFailed,
  reserved,
  sectionOutcomes,
  validated,
  validationFailed,
} from './saga.js';

const FULL = { code: 'SECTION_FULL', detail: "Section 'B' has no seats available" };

describe('the enrollment saga', () => {
  it('validates, takes each seat in the order asked for, then confirms', () => {
    let saga = planSaga('r1', ['A', 'B']);
    expect(nextAction(saga)).toEqual({ kind: 'validate' });
    saga = validated(saga);
    expect(nextAction(saga)).toEqual({ kind: 'reserve', section: 'A' });
    saga = reserved(saga, 'A');
    expect(nextAction(saga)).toEqual({ kind: 'reserve', section: 'B' });
    saga = reserved(saga, 'B');
    expect(nextAction(saga)).toEqual({ kind: 'confirm' });
    saga = confirmed(saga);
    expect(saga.status).toBe('completed');
    expect(nextAction(saga)).toEqual({ kind: 'finished' });
    expect(sectionOutcomes(['A', 'B'], saga).map((s) => s.status)).toEqual(['enrolled', 'enrolled']);
  });

  it('gives back the seats already taken, newest first, when a later seat is refused', () => {
    let saga = reserved(reserved(validated(planSaga('r1', ['A', 'B', 'C'])), 'A'), 'B');
    saga = reserveFailed(saga, 'C', FULL);
    expect(saga.status).toBe('compensating');
    expect(nextAction(saga)).toEqual({ kind: 'release', section: 'B' });
    saga = released(saga, 'B');
    expect(nextAction(saga)).toEqual({ kind: 'release', section: 'A' });
    saga = released(saga, 'A');
    expect(nextAction(saga)).toEqual({ kind: 'fail' });
    saga = compensationFinished(saga);
    expect(saga.status).toBe('compensated');
    expect(saga.failure).toEqual({ ...FULL, section: 'C' });
    expect(sectionOutcomes(['A', 'B', 'C'], saga)).toEqual([
      { code: 'A', status: 'released' },
      { code: 'B', status: 'released' },
      { code: 'C', status: 'failed', error: FULL },
    ]);
  });

  it('skips the seats after a refusal and ends failed when nothing was taken', () => {
    let saga = reserveFailed(validated(planSaga('r1', ['A', 'B'])), 'A', FULL);
    expect(sectionOutcomes(['A', 'B'], saga)[1]).toEqual({ code: 'B', status: 'not_attempted' });
    expect(nextAction(saga)).toEqual({ kind: 'fail' });
    saga = compensationFinished(saga);
    expect(saga.status).toBe('failed');
  });

  it('ends at once when validation refuses the request', () => {
    const saga = validationFailed(planSaga('r1', ['A']), { code: 'TERM_CLOSED', detail: 'closed' });
    expect(saga.status).toBe('failed');
    expect(nextAction(saga)).toEqual({ kind: 'finished' });
    expect(saga.steps.map((s) => s.status)).toEqual(['failed', 'skipped', 'skipped']);
  });
});
