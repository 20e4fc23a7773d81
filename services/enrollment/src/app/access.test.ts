import { describe, expect, it } from 'vitest';
import { NotYourEnrollmentError } from '../domain/errors.js';
import { assertMayActFor } from './access.js';

describe('who may act for a student', () => {
  it('is the student themself or an admin; never another student or a guest', () => {
    expect(() => assertMayActFor({ id: 'RA1', role: 'student' }, 'RA1')).not.toThrow();
    expect(() => assertMayActFor({ id: 'admin-1', role: 'admin' }, 'RA1')).not.toThrow();
    expect(() => assertMayActFor({ id: 'RA2', role: 'student' }, 'RA1')).toThrow(NotYourEnrollmentError);
    expect(() => assertMayActFor({ id: 'RA1', role: 'guest' }, 'RA1')).toThrow(NotYourEnrollmentError);
  });
});
