import { createPool } from '@cupo/database';
import { loadDatabaseConfig } from '@cupo/service-kit';
import { DEVELOPMENT_DEFAULTS } from './config.js';

/**
 * `node dist/seed.js`: the contract's seed data, safe to run again (existing rows are left
 * as they are, so seats taken since are not reset). `G-ELC108-E` has one seat: the
 * ten-students experiment fights over it.
 */
const TERMS = [
  { code: '1-2025', name: 'First semester 2025', open: true },
  { code: '2-2024', name: 'Second semester 2024', open: false },
];

const COURSES = [
  { code: 'ELC108', name: 'Electronics I' },
  { code: 'MAT101', name: 'Calculus I' },
  { code: 'FIS101', name: 'Physics I' },
  { code: 'PRG101', name: 'Programming I' },
  { code: 'HUM110', name: 'Technical Writing' },
];

type Day = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
const at = (days: Day[], start: string, end: string) => days.map((day) => ({ day, start, end }));

const SECTIONS = [
  { code: 'G-ELC108-E', course: 'ELC108', term: '1-2025', capacity: 1, schedule: at(['mon', 'wed'], '07:00', '08:40') },
  { code: 'G-ELC108-A', course: 'ELC108', term: '1-2025', capacity: 30, schedule: at(['tue', 'thu'], '07:00', '08:40') },
  { code: 'G-MAT101-A', course: 'MAT101', term: '1-2025', capacity: 40, schedule: at(['mon', 'wed'], '09:00', '10:40') },
  { code: 'G-MAT101-B', course: 'MAT101', term: '1-2025', capacity: 40, schedule: at(['tue', 'thu'], '09:00', '10:40') },
  { code: 'G-FIS101-A', course: 'FIS101', term: '1-2025', capacity: 35, schedule: at(['mon', 'wed'], '11:00', '12:40') },
  { code: 'G-FIS101-B', course: 'FIS101', term: '1-2025', capacity: 35, schedule: at(['mon', 'wed'], '09:30', '11:10') },
  { code: 'G-PRG101-A', course: 'PRG101', term: '1-2025', capacity: 25, schedule: at(['fri'], '08:00', '11:20') },
  { code: 'G-HUM110-A', course: 'HUM110', term: '1-2025', capacity: 50, schedule: at(['sat'], '09:00', '12:00') },
  { code: 'G-MAT101-X', course: 'MAT101', term: '2-2024', capacity: 40, schedule: at(['mon'], '09:00', '10:40') },
];

const STUDENTS = Array.from({ length: 50 }, (_, i) => {
  const id = `RA${String(i + 1).padStart(4, '0')}`;
  return { id, name: `Student ${id}`, email: `${id.toLowerCase()}@students.cupo.test` };
});

const config = loadDatabaseConfig(DEVELOPMENT_DEFAULTS.DATABASE_URL);
const sql = createPool({ url: config.DATABASE_URL, max: 1, applicationName: 'cupo-enrollment-seed' });
try {
  await sql.begin(async (tx) => {
    await tx`INSERT INTO terms ${tx(TERMS)} ON CONFLICT (code) DO NOTHING`;
    await tx`INSERT INTO courses ${tx(COURSES)} ON CONFLICT (code) DO NOTHING`;
    for (const section of SECTIONS) {
      await tx`
        INSERT INTO sections (code, course, term, capacity, schedule)
        VALUES (${section.code}, ${section.course}, ${section.term}, ${section.capacity}, ${tx.json(section.schedule)})
        ON CONFLICT (code) DO NOTHING`;
    }
    await tx`INSERT INTO students ${tx(STUDENTS)} ON CONFLICT (id) DO NOTHING`;
  });
  console.log(
    JSON.stringify({ service: 'enrollment', msg: 'seeded', terms: TERMS.length, sections: SECTIONS.length, students: STUDENTS.length }),
  );
} finally {
  await sql.end({ timeout: 5 });
}
