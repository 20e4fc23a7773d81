import { z } from 'zod';
import { Actor } from './actor.js';
import { PageRequest, pageOf } from './pages.js';
import { NoParameters, accepted, rpcCommand } from './rpc.js';
import { Email, safeString, safeText } from './text.js';

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
export const SectionCode = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/, 'must be a section code such as G-ELC108-E');
export const CourseCode = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$/, 'must be a course code such as ELC108');
export const StudentId = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/, 'must be a student id such as RA0001');

export const Term = z.object({ code: TermCode, name: z.string().max(200), open: z.boolean() });
export type Term = z.infer<typeof Term>;

export const Section = z.object({
  code: SectionCode,
  course: CourseCode,
  /** The course's name ("Calculus I"), so a person need not know the codes. */
  course_name: z.string(),
  term: TermCode,
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

// The detail is an error's own words (a poison message's last cause among them): not bounded
// here, so that a long one still reads back instead of failing the read.
export const FailureReason = z.object({ code: z.string().max(64), detail: z.string() });
export type FailureReason = z.infer<typeof FailureReason>;

export const EnrollmentRequestView = z.object({
  request_id: z.uuid(),
  student_id: StudentId,
  term: TermCode,
  status: RequestStatus,
  sections: z.array(z.object({ code: SectionCode, status: SectionOutcome, error: FailureReason.optional() })).max(MAX_SECTIONS_PER_REQUEST),
  error: FailureReason.optional(),
  accepted_at: z.iso.datetime({ offset: true }),
  finished_at: z.iso.datetime({ offset: true }).optional(),
});
export type EnrollmentRequestView = z.infer<typeof EnrollmentRequestView>;

export const Enrollment = z.object({
  id: z.uuid(),
  student_id: StudentId,
  section: SectionCode,
  course: CourseCode,
  course_name: z.string(),
  term: TermCode,
  schedule: Schedule,
  status: z.enum(['active', 'dropped']),
  enrolled_at: z.iso.datetime({ offset: true }),
  dropped_at: z.iso.datetime({ offset: true }).optional(),
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

/** A person's full name as the registrar keeps it. */
export const MAX_PERSON_NAME = 200;

export const CreateStudentBody = z.strictObject({
  id: StudentId,
  name: safeText(MAX_PERSON_NAME),
  email: Email,
});
export type CreateStudentBody = z.infer<typeof CreateStudentBody>;

// --- Operations ---------------------------------------------------------------------------

export const SagaStatus = z.enum(['running', 'compensating', 'completed', 'compensated', 'failed']);
export type SagaStatus = z.infer<typeof SagaStatus>;
/** Ten years: no saga is older, and a larger age would overflow an SQL interval. */
const MAX_AGE_SECONDS = 315_360_000;

/** Sagas that reached an end; only these may be purged. */
export const FINISHED_SAGA_STATUSES = ['completed', 'compensated', 'failed'] as const;

export const SagasQuery = z.strictObject({ status: SagaStatus.optional() });
export const PurgeSagasQuery = z.strictObject({
  status: z.enum(FINISHED_SAGA_STATUSES),
  older_than_seconds: z.coerce.number().int().min(0).max(MAX_AGE_SECONDS).default(0),
});

/** One saga as ops lists it. */
export const SagaSummary = z.object({
  saga_id: z.uuid(),
  name: z.string(),
  status: SagaStatus,
  steps: z.array(z.object({ name: z.string(), status: z.string(), section: z.string().optional() })),
  started_at: z.string(),
  finished_at: z.string().optional(),
});
export type SagaSummary = z.infer<typeof SagaSummary>;

/** Enrollment's share of `GET /api/ops/stats`: counts by status, idempotency keys, the outbox. */
export const EnrollmentStats = z.object({
  requests: z.record(z.string(), z.number()),
  sagas: z.record(z.string(), z.number()),
  idempotency: z.object({
    entries: z.number().int(),
    sample_keys: z.array(z.string()),
    /** Set when there were too many live keys to count on each call: `entries` is then the planner's estimate. */
    estimated: z.boolean().optional(),
  }),
  outbox: z.object({ pending: z.number().int(), oldest_seconds: z.number() }),
});
export type EnrollmentStats = z.infer<typeof EnrollmentStats>;

// --- RPC commands served by enrollment -------------------------------------------------

/** The durable job: "process this request"; everything else is read from the database. */
export const EnrollmentJobs = {
  exchange: 'cupo.jobs',
  requested: 'enrollment.requested.v1',
  queue: 'enrollment.requests',
} as const;
export const EnrollmentRequestedMessage = z.object({ request_id: z.uuid() });

/**
 * An idempotency entry's name: `enrollment:<student>:<Idempotency-Key>` (64 + 255 and the
 * separators) or the derived `enrollment:<student>:<term>:<sections>` (10 codes of 64).
 */
export const MAX_IDEMPOTENCY_ENTRY_KEY = 800;
export const IdempotencyEntryKey = safeString(MAX_IDEMPOTENCY_ENTRY_KEY, 1);

export const SubmitEnrollmentCommand = z.object({
  student_id: StudentId,
  term: TermCode,
  sections: z.array(SectionCode).min(1).max(MAX_SECTIONS_PER_REQUEST),
  /** `enrollment:<student>:<Idempotency-Key>` or derived from (student, term, sorted sections). */
  idempotency_key: safeString(MAX_IDEMPOTENCY_ENTRY_KEY, 1),
  /** True when the client sent no Idempotency-Key and the gateway derived one. */
  derived_key: z.boolean(),
  /** Same key, different body → IDEMPOTENCY_KEY_REUSED. */
  fingerprint: z.string().min(1).max(128),
});
export type SubmitEnrollmentCommand = z.infer<typeof SubmitEnrollmentCommand>;

/** `POST /api/enrollments` answers 202 with this (the first time and on every replay). */
export const EnrollmentAccepted = accepted('request_id', z.literal('queued'));
export type EnrollmentAccepted = z.infer<typeof EnrollmentAccepted>;
export const SubmittedEnrollment = z.object({ response: EnrollmentAccepted, replayed: z.boolean() });

export const GetRequestCommand = z.object({ request_id: z.uuid(), actor: Actor });
export const ListTermsCommand = z.object({ page: PageRequest });
export const ListSectionsCommand = z.object({ term: TermCode.optional(), page: PageRequest });
export const GetSectionCommand = z.object({ code: SectionCode });
export const ListStudentEnrollmentsCommand = z.object({
  student_id: StudentId,
  term: TermCode.optional(),
  actor: Actor,
  page: PageRequest,
});
export const DropEnrollmentCommand = z.object({ enrollment_id: z.uuid(), actor: Actor });
export const ListSagasCommand = z.object({ status: SagaStatus.optional(), page: PageRequest });
export const PurgeSagasCommand = z.object({
  status: z.enum(FINISHED_SAGA_STATUSES),
  older_than_seconds: z.number().int().min(0).max(MAX_AGE_SECONDS),
});
export const ForgetIdempotencyKeyCommand = z.object({ key: IdempotencyEntryKey });

/** A student as created: active until the registrar says otherwise. */
export const Student = z.object({ id: z.string(), name: z.string(), email: z.string(), active: z.boolean() });
export type Student = z.infer<typeof Student>;

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

export const ListRequestsCommand = z.object({
  actor: Actor,
  status: RequestsFilter.optional(),
  limit: z.number().int().min(1).max(200),
  cursor: z.string().min(1).max(512).optional(),
});

export const SubmitEnrollment = rpcCommand('enrollment.submit.v1', SubmitEnrollmentCommand, SubmittedEnrollment);
export const GetEnrollmentRequest = rpcCommand('enrollment.get-request.v1', GetRequestCommand, EnrollmentRequestView);
export const ListEnrollmentRequests = rpcCommand('enrollment.list-requests.v1', ListRequestsCommand, pageOf(EnrollmentRequestView));
// The list commands' v2 answer one page ({items, next}) instead of every row.
export const ListTerms = rpcCommand('enrollment.list-terms.v2', ListTermsCommand, pageOf(Term));
export const ListSections = rpcCommand('enrollment.list-sections.v2', ListSectionsCommand, pageOf(Section));
export const GetSection = rpcCommand('enrollment.get-section.v1', GetSectionCommand, Section);
export const ListStudentEnrollments = rpcCommand(
  'enrollment.list-student-enrollments.v2',
  ListStudentEnrollmentsCommand,
  pageOf(Enrollment),
);
export const DropEnrollment = rpcCommand('enrollment.drop.v1', DropEnrollmentCommand, Enrollment);
export const CreateSection = rpcCommand('enrollment.create-section.v1', CreateSectionBody, Section);
export const CreateStudent = rpcCommand('enrollment.create-student.v1', CreateStudentBody, Student);
export const GetEnrollmentStats = rpcCommand('enrollment.ops.stats.v1', NoParameters, EnrollmentStats);
export const ListSagas = rpcCommand('enrollment.ops.list-sagas.v2', ListSagasCommand, pageOf(SagaSummary));
export const PurgeSagas = rpcCommand(
  'enrollment.ops.purge-sagas.v1',
  PurgeSagasCommand,
  z.object({
    purged: z.number().int(),
    /**
     * false: matching sagas were left when the time ran out; purge again. Absent from an older
     * replica's reply (it deleted all at once): the gateway answers true for it. Replies are not
     * parsed on the way back, so a schema default would never apply.
     */
    complete: z.boolean().optional(),
  }),
);
export const ForgetIdempotencyKey = rpcCommand(
  'enrollment.ops.forget-idempotency-key.v1',
  ForgetIdempotencyKeyCommand,
  z.object({ forgotten: z.boolean() }),
);
