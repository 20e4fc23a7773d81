import { beforeEach, describe, expect, it } from 'vitest';
import { EnrollmentNotFoundError, NotYourEnrollmentError } from '../domain/errors.js';
import { dropEnrollment } from './drop-enrollment.js';
import { InMemoryCatalogStore } from './in-memory.fake.js';

let catalog: InMemoryCatalogStore;
const owner = { id: 'RA1', role: 'student' as const };

beforeEach(() => {
  catalog = new InMemoryCatalogStore();
  catalog.add({ id: 'e1', student_id: 'RA1' });
});

describe('dropping an enrollment', () => {
  it('drops it and gives its seat back, once: a repeat answers the same and frees nothing', async () => {
    const dropped = await dropEnrollment(catalog, 'e1', owner);
    expect(dropped.status).toBe('dropped');
    const again = await dropEnrollment(catalog, 'e1', owner);
    expect(again).toEqual(dropped);
    expect(catalog.drops).toBe(1);
  });

  it('lets an admin drop anyone’s', async () => {
    await expect(dropEnrollment(catalog, 'e1', { id: 'admin-1', role: 'admin' })).resolves.toMatchObject({ status: 'dropped' });
  });

  it('refuses another student, changing nothing, and names a missing one', async () => {
    await expect(dropEnrollment(catalog, 'e1', { id: 'RA2', role: 'student' })).rejects.toBeInstanceOf(NotYourEnrollmentError);
    expect(catalog.drops).toBe(0);
    await expect(dropEnrollment(catalog, 'nope', owner)).rejects.toBeInstanceOf(EnrollmentNotFoundError);
  });
});
