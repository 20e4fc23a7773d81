import { describe, expect, it } from 'vitest';
import { NotYourEnrollmentError } from '../domain/errors.js';
import { InMemoryCatalogStore } from './in-memory.fake.js';
import { listStudentEnrollments } from './list-student-enrollments.js';

describe('a student’s enrollments', () => {
  const catalog = new InMemoryCatalogStore();
  catalog.add({ id: 'e1', student_id: 'RA1', term: 'T1' });
  catalog.add({ id: 'e2', student_id: 'RA1', term: 'T2', section: 'S2' });
  catalog.add({ id: 'e3', student_id: 'RA1', status: 'dropped' });
  catalog.add({ id: 'e4', student_id: 'RA2' });

  it('are the active ones, in one term or all, for the student or an admin', async () => {
    const ids = async (actor: { id: string; role: 'student' | 'admin' }, term?: string) =>
      (await listStudentEnrollments(catalog, 'RA1', actor, term, { limit: 50 })).items.map((e) => e.id);
    expect(await ids({ id: 'RA1', role: 'student' })).toEqual(['e1', 'e2']);
    expect(await ids({ id: 'RA1', role: 'student' }, 'T2')).toEqual(['e2']);
    expect(await ids({ id: 'admin-1', role: 'admin' })).toEqual(['e1', 'e2']);
  });

  it('are refused to another student', async () => {
    await expect(listStudentEnrollments(catalog, 'RA1', { id: 'RA2', role: 'student' }, undefined, { limit: 50 })).rejects.toBeInstanceOf(
      NotYourEnrollmentError,
    );
  });
});
