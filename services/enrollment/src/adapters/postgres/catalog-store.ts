import type { CreateSectionBody, CreateStudentBody, Enrollment, Page, PageRequest, Section, Term } from '@cupo/contracts';
import { isUniqueViolation, type Sql } from '@cupo/database';
import type { CatalogStore } from '../../app/ports.js';
import { SectionExistsError, StudentExistsError, TermNotFoundError } from '../../domain/errors.js';
import { SECTIONS, STUDENT_ENROLLMENTS, TERMS, json, toEnrollment, toSection, type EnrollmentRow, type SectionRow } from './rows.js';

/** Terms, sections, students and their enrollments. */
export class PostgresCatalogStore implements CatalogStore {
  constructor(private readonly sql: Sql) {}

  /** By code: each page a primary-key range scan from the cursor on. */
  async listTerms(page: PageRequest): Promise<Page<Term>> {
    const after = TERMS.decode(page.cursor);
    const rows = await this.sql<Term[]>`
      SELECT code, name, open FROM terms
      ${after ? this.sql`WHERE code > ${after[0]}` : this.sql``}
      ORDER BY code LIMIT ${page.limit + 1}`;
    return TERMS.page(
      rows,
      page.limit,
      (term) => [term.code],
      (term) => ({ ...term }),
    );
  }

  /** By (term, code), in one term or all: either way a range scan of sections_term. */
  async listSections(term: string | undefined, page: PageRequest): Promise<Page<Section>> {
    const after = SECTIONS.decode(page.cursor);
    const rows = await this.sql<SectionRow[]>`
      SELECT code, course, (SELECT name FROM courses WHERE courses.code = sections.course) AS course_name, term, capacity, enrolled, schedule FROM sections
      WHERE true
        ${term ? this.sql`AND term = ${term}` : this.sql``}
        ${after ? this.sql`AND (term, code) > (${after[0]}, ${after[1]})` : this.sql``}
      ORDER BY term, code LIMIT ${page.limit + 1}`;
    return SECTIONS.page(rows, page.limit, (row) => [row.term, row.code], toSection);
  }

  async findSection(code: string): Promise<Section | undefined> {
    const [row] = await this.sql<SectionRow[]>`
      SELECT code, course, (SELECT name FROM courses WHERE courses.code = sections.course) AS course_name, term, capacity, enrolled, schedule
      FROM sections WHERE code = ${code}`;
    return row ? toSection(row) : undefined;
  }

  async createSection(section: CreateSectionBody): Promise<Section> {
    try {
      return (await this.sql.begin(async (tx) => {
        const [term] = await tx`SELECT 1 FROM terms WHERE code = ${section.term}`;
        if (!term) throw new TermNotFoundError(section.term);
        await tx`INSERT INTO courses (code, name) VALUES (${section.course}, ${section.course}) ON CONFLICT DO NOTHING`;
        const [row] = await tx<SectionRow[]>`
          INSERT INTO sections (code, course, term, capacity, schedule)
          VALUES (${section.code}, ${section.course}, ${section.term}, ${section.capacity}, ${json(tx, section.schedule)})
          RETURNING code, course, term, capacity, enrolled, schedule`;
        const [course] = await tx<{ name: string }[]>`SELECT name FROM courses WHERE code = ${section.course}`;
        return toSection({ ...row!, course_name: course!.name });
      })) as Section;
    } catch (error) {
      if (isUniqueViolation(error, 'sections_pkey')) throw new SectionExistsError(section.code);
      throw error;
    }
  }

  async createStudent(student: CreateStudentBody) {
    try {
      const [row] = await this.sql<{ id: string; name: string; email: string; active: boolean }[]>`
        INSERT INTO students (id, name, email) VALUES (${student.id}, ${student.name}, ${student.email})
        RETURNING id, name, email, active`;
      return row!;
    } catch (error) {
      if (isUniqueViolation(error, 'students_pkey')) throw new StudentExistsError(student.id);
      throw error;
    }
  }

  /** By (term, section): a range scan of enrollments_student_active_page. */
  async listStudentEnrollments(studentId: string, term: string | undefined, page: PageRequest): Promise<Page<Enrollment>> {
    const after = STUDENT_ENROLLMENTS.decode(page.cursor);
    const rows = await this.sql<EnrollmentRow[]>`
      SELECT e.id, e.student_id, e.section, e.course, (SELECT name FROM courses WHERE courses.code = e.course) AS course_name, e.term, s.schedule, e.status,
             e.enrolled_at, e.ended_at
      FROM enrollments e JOIN sections s ON s.code = e.section
      WHERE e.student_id = ${studentId} AND e.status = 'active'
        ${term ? this.sql`AND e.term = ${term}` : this.sql``}
        ${after ? this.sql`AND (e.term, e.section) > (${after[0]}, ${after[1]})` : this.sql``}
      ORDER BY e.term, e.section LIMIT ${page.limit + 1}`;
    return STUDENT_ENROLLMENTS.page(rows, page.limit, (row) => [row.term, row.section], toEnrollment);
  }

  async findEnrollment(id: string): Promise<Enrollment | undefined> {
    const [row] = await this.sql<EnrollmentRow[]>`
      SELECT e.id, e.student_id, e.section, e.course, (SELECT name FROM courses WHERE courses.code = e.course) AS course_name, e.term, s.schedule,
             CASE WHEN e.status = 'active' THEN 'active' ELSE 'dropped' END AS status,
             e.enrolled_at, e.ended_at
      FROM enrollments e JOIN sections s ON s.code = e.section
      WHERE e.id = ${id} AND e.status IN ('active', 'dropped')`;
    return row ? toEnrollment(row) : undefined;
  }

  async dropEnrollment(id: string): Promise<Enrollment | undefined> {
    await this.sql.begin(async (tx) => {
      const [row] = await tx<{ section: string }[]>`
        UPDATE enrollments SET status = 'dropped', ended_at = now()
        WHERE id = ${id} AND status = 'active'
        RETURNING section`;
      if (row) await tx`UPDATE sections SET enrolled = enrolled - 1 WHERE code = ${row.section}`;
    });
    return this.findEnrollment(id);
  }
}
