import { z } from 'zod';
import { Actor } from './actor.js';

// --- Catalog --------------------------------------------------------------------------

export const Weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
export type Weekday = z.infer<typeof Weekday>;

const ClockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 h)');

/** One weekly meeting of a section. `HH:MM` strings compare correctly as text. */
export const Meeting = z
  .strictObject({ day: Weekday, start: ClockTime, end: ClockTime })
  .refine((m) => m.start < m.end, { path: ['end'], message: 'must be after start' });
export type Meeting = z.infer<typeof Meeting>;

export const Schedule = z.array(Meeting).max(14);

export const TermCode = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$/, 'must be a term code such as 1-2025');
export const SectionCode = z
  .string()
  .regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/, 'must be a section code such as G-ELC108-E');
export const CourseCode = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$/, 'must be a course code such as ELC108');
export const StudentId = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/, 'must be a student id such as RA0001');

export const Term = z.object({ code: z.string(), name: z.string(), open: z.boolean() });
export type Term = z.infer<typeof Term>;

export const Section = z.object({
  code: z.string(),
  course: z.string(),
  /** The course's name ("Calculus I"), so a person need not know the codes. */
  course_name: z.string(),
  term: z.string(),
  capacity: z.number().int(),
  enrolled: z.number().int(),
  schedule: Schedule,
});
export type Section = z.infer<typeof Section>;

export const SectionsQuery = z.strictObject({ term: TermCode.optional() });

/** The most sections one request may ask for; a real term load is well under it. */
export const MAX_SECTIONS_PER_REQUEST = 10;

// --- Enrollment requests ---------------------------------------------------------------

export const EnrollmentRequestBody = z.strictObject({
  term: TermCode,
  sections: z
    .array(SectionCode)
    .min(1, 'must name at least one section')
    .max(MAX_SECTIONS_PER_REQUEST, `at most ${MAX_SECTIONS_PER_REQUEST} sections per request`)
    .refine((codes) => new Set(codes).size === codes.length, 'must not repeat a section'),
});
export type EnrollmentRequestBody = z.infer<typeof EnrollmentRequestBody>;

export const RequestStatus = z.enum(['queued', 'processing', 'completed', 'failed']);
export type RequestStatus = z.infer<typeof RequestStatus>;

/** Per section of a request: where its seat stands. */
export const SectionOutcome = z.enum(['pending', 'reserved', 'enrolled', 'failed', 'released', 'not_attempted']);
export type SectionOutcome = z.infer<typeof SectionOutcome>;

export const FailureReason = z.object({ code: z.string(), detail: z.string() });
export type FailureReason = z.infer<typeof FailureReason>;

export const EnrollmentRequestView = z.object({
  request_id: z.uuid(),
  student_id: z.string(),
  term: z.string(),
  status: RequestStatus,
  sections: z.array(z.object({ code: z.string(), status: SectionOutcome, error: FailureReason.optional() })),
  error: FailureReason.optional(),
  accepted_at: z.string(),
  finished_at: z.string().optional(),
});
export type EnrollmentRequestView = z.infer<typeof EnrollmentRequestView>;

export const Enrollment = z.object({
  id: z.uuid(),
  student_id: z.string(),
  section: z.string(),
  course: z.string(),
  course_name: z.string(),
  term: z.string(),
  schedule: Schedule,
  status: z.enum(['active', 'dropped']),
  enrolled_at: z.string(),
  dropped_at: z.string().optional(),
});
export type Enrollment = z.infer<typeof Enrollment>;

export const StudentEnrollmentsQuery = z.strictObject({ term: TermCode.optional() });

// --- Admin -------------------------------------------------------------------------------

export const CreateSectionBody = z.strictObject({
  code: SectionCode,
  course: CourseCode,
  term: TermCode,
  capacity: z.number().int().min(1).max(10_000),
  schedule: Schedule,
});
export type CreateSectionBody = z.infer<typeof CreateSectionBody>;

export const CreateStudentBody = z.strictObject({
  id: StudentId,
  name: z.string().trim().min(1).max(200),
  email: z.email().max(320),
});
export type CreateStudentBody = z.infer<typeof CreateStudentBody>;

// --- Operations ---------------------------------------------------------------------------

export const SagaStatus = z.enum(['running', 'compensating', 'completed', 'compensated', 'failed']);
export type SagaStatus = z.infer<typeof SagaStatus>;
/** Sagas that reached an end; only these may be purged. */
export const FINISHED_SAGA_STATUSES = ['completed', 'compensated', 'failed'] as const;

export const SagasQuery = z.strictObject({ status: SagaStatus.optional() });
export const PurgeSagasQuery = z.strictObject({
  status: z.enum(FINISHED_SAGA_STATUSES),
  older_than_seconds: z.coerce.number().int().min(0).default(0),
});

export const BreakerState = z.enum(['closed', 'open', 'half_open']);
export type BreakerState = z.infer<typeof BreakerState>;
export interface BreakerReport {
  state: BreakerState;
  failure_count: number;
  success_count: number;
}

// --- RPC commands served by enrollment -------------------------------------------------

export const EnrollmentCommands = {
  submit: 'enrollment.submit.v1',
  getRequest: 'enrollment.get-request.v1',
  listTerms: 'enrollment.list-terms.v1',
  listSections: 'enrollment.list-sections.v1',
  getSection: 'enrollment.get-section.v1',
  listStudentEnrollments: 'enrollment.list-student-enrollments.v1',
  drop: 'enrollment.drop.v1',
  createSection: 'enrollment.create-section.v1',
  createStudent: 'enrollment.create-student.v1',
  stats: 'enrollment.ops.stats.v1',
  listSagas: 'enrollment.ops.list-sagas.v1',
  purgeSagas: 'enrollment.ops.purge-sagas.v1',
  forgetIdempotencyKey: 'enrollment.ops.forget-idempotency-key.v1',
} as const;

/** Sent to every enrollment replica at once (fanout): each answers for its own breakers. */
export const EnrollmentBroadcasts = {
  exchange: 'cupo.ops.enrollment',
  listBreakers: 'enrollment.ops.list-breakers.v1',
  resetBreaker: 'enrollment.ops.reset-breaker.v1',
} as const;

/** The durable job: "process this request"; everything else is read from the database. */
export const EnrollmentJobs = {
  exchange: 'cupo.jobs',
  requested: 'enrollment.requested.v1',
  queue: 'enrollment.requests',
} as const;
export const EnrollmentRequestedMessage = z.object({ request_id: z.uuid() });

export const SubmitEnrollmentCommand = z.object({
  student_id: StudentId,
  term: TermCode,
  sections: z.array(SectionCode).min(1).max(MAX_SECTIONS_PER_REQUEST),
  /** `enrollment:<student>:<Idempotency-Key>` or derived from (student, term, sorted sections). */
  idempotency_key: z.string().min(1).max(400),
  /** True when the client sent no Idempotency-Key and the gateway derived one. */
  derived_key: z.boolean(),
  /** Same key, different body → IDEMPOTENCY_KEY_REUSED. */
  fingerprint: z.string().min(1).max(128),
});
export type SubmitEnrollmentCommand = z.infer<typeof SubmitEnrollmentCommand>;

export const GetRequestCommand = z.object({ request_id: z.uuid(), actor: Actor });
export const ListSectionsCommand = z.object({ term: TermCode.optional() });
export const GetSectionCommand = z.object({ code: z.string().min(1).max(64) });
export const ListStudentEnrollmentsCommand = z.object({ student_id: z.string().min(1), term: TermCode.optional(), actor: Actor });
export const DropEnrollmentCommand = z.object({ enrollment_id: z.uuid(), actor: Actor });
export const ListSagasCommand = SagasQuery;
export const PurgeSagasCommand = z.object({
  status: z.enum(FINISHED_SAGA_STATUSES),
  older_than_seconds: z.number().int().min(0),
});
export const ForgetIdempotencyKeyCommand = z.object({ key: z.string().min(1).max(400) });
export const ResetBreakerCommand = z.object({ name: z.string().min(1).max(100) });

// --- A student's own requests (so a request in progress is found again after leaving the page) ---

/** `open`: still queued or processing. */
export const RequestsFilter = z.enum(['open', ...RequestStatus.options]);
export type RequestsFilter = z.infer<typeof RequestsFilter>;

/** `GET /api/enrollments/requests?status=&limit=&cursor=`: the caller's requests, newest first. */
export const RequestsQuery = z.strictObject({
  status: RequestsFilter.optional(),
  limit: z.coerce.number().int().min(1).max(200, 'must be at most 200').default(50),
  cursor: z.string().min(1).max(512).optional(),
});

export const EnrollmentRequestCommands = {
  listRequests: 'enrollment.list-requests.v1',
} as const;
export const ListRequestsCommand = z.object({
  actor: Actor,
  status: RequestsFilter.optional(),
  limit: z.number().int().min(1).max(200),
  cursor: z.string().min(1).max(512).optional(),
});
