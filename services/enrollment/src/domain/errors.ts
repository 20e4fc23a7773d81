import { DomainError } from '@cupo/errors';

// Refusals a request can end with (its `error.code`), and the errors of the synchronous routes.

export class StudentNotFoundError extends DomainError {
  constructor(id: string) {
    super('not_found', 'STUDENT_NOT_FOUND', `Student '${id}' does not exist`);
  }
}

export class StudentInactiveError extends DomainError {
  constructor(id: string) {
    super('conflict', 'STUDENT_INACTIVE', `Student '${id}' is not active`);
  }
}

export class TermNotFoundError extends DomainError {
  constructor(code: string) {
    super('not_found', 'TERM_NOT_FOUND', `Term '${code}' does not exist`);
  }
}

export class TermClosedError extends DomainError {
  constructor(code: string) {
    super('conflict', 'TERM_CLOSED', `Term '${code}' is not open for enrollment`);
  }
}

export class SectionNotFoundError extends DomainError {
  constructor(code: string, term?: string) {
    super(
      'not_found',
      'SECTION_NOT_FOUND',
      term ? `Section '${code}' does not exist in term '${term}'` : `Section '${code}' does not exist`,
    );
  }
}

export class SectionFullError extends DomainError {
  constructor(code: string) {
    super('conflict', 'SECTION_FULL', `Section '${code}' has no seats available`);
  }
}

export class ScheduleConflictError extends DomainError {
  constructor(section: string, other: string, when: string) {
    super('conflict', 'SCHEDULE_CONFLICT', `Section '${section}' overlaps section '${other}' (${when})`);
  }
}

export class AlreadyEnrolledError extends DomainError {
  constructor(student: string, course: string, section: string) {
    super('conflict', 'ALREADY_ENROLLED', `Student '${student}' is already enrolled in course '${course}' (section '${section}')`);
  }
}

export class EnrollmentNotFoundError extends DomainError {
  constructor(id: string) {
    super('not_found', 'ENROLLMENT_NOT_FOUND', `Enrollment ${id} does not exist`);
  }
}

export class RequestNotFoundError extends DomainError {
  constructor(id: string) {
    super('not_found', 'REQUEST_NOT_FOUND', `Enrollment request ${id} does not exist`);
  }
}

export class SectionExistsError extends DomainError {
  constructor(code: string) {
    super('conflict', 'SECTION_EXISTS', `Section '${code}' already exists`);
  }
}

export class StudentExistsError extends DomainError {
  constructor(id: string) {
    super('conflict', 'STUDENT_EXISTS', `Student '${id}' already exists`);
  }
}

/** Only sagas that reached an end may be purged: a running one still owns seats. */
export class SagaNotFinishedError extends DomainError {
  constructor() {
    super('invalid', 'VALIDATION_FAILED', 'Only finished sagas can be purged');
  }
}

export class NotYourEnrollmentError extends DomainError {
  constructor() {
    super('forbidden', 'FORBIDDEN', 'You may only see and change your own enrollments');
  }
}

/** The reason a request ends `failed` when processing itself kept failing (a poison message). */
export class ProcessingFailedError extends DomainError {
  constructor(attempts: number, cause: string) {
    super('internal', 'PROCESSING_FAILED', `Processing failed ${attempts} times; gave up. Last error: ${cause}`);
  }
}
