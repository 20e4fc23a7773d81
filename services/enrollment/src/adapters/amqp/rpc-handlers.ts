import { rpcHandler, type RpcHandler } from '@cupo/amqp';
import {
  CreateSection,
  CreateStudent,
  DropEnrollment,
  ForgetIdempotencyKey,
  GetEnrollmentRequest,
  GetEnrollmentStats,
  GetSection,
  ListEnrollmentRequests,
  ListSagas,
  ListSections,
  ListStudentEnrollments,
  ListTerms,
  PurgeSagas,
  SectionRosterReport,
  SubmitEnrollment,
} from '@cupo/contracts';
import { dropEnrollment } from '../../app/drop-enrollment.js';
import { getEnrollmentRequest } from '../../app/get-enrollment-request.js';
import { listEnrollmentRequests } from '../../app/list-enrollment-requests.js';
import { listStudentEnrollments } from '../../app/list-student-enrollments.js';
import type { EnrollmentStore } from '../../app/ports.js';
import { submitEnrollment, type SubmitDeps } from '../../app/submit-enrollment.js';
import { SectionNotFoundError } from '../../domain/errors.js';

export function rpcHandlers(deps: SubmitDeps & { store: EnrollmentStore }): RpcHandler[] {
  const { store } = deps;
  return [
    rpcHandler(SubmitEnrollment, (command, context) =>
      submitEnrollment(deps, command, context.requestId),
    ),
    rpcHandler(GetEnrollmentRequest, (command) =>
      getEnrollmentRequest(store, command.request_id, command.actor),
    ),
    rpcHandler(ListTerms, (command) => store.listTerms(command.page)),
    rpcHandler(ListSections, (command) =>
      store.listSections(command.term, command.page),
    ),
    rpcHandler(ListEnrollmentRequests, (command) =>
      listEnrollmentRequests(store, command.actor, command.status, {
        limit: command.limit,
        ...(command.cursor ? { cursor: command.cursor } : {}),
      }),
    ),
    rpcHandler(GetSection, async (command) => {
      const section = await store.findSection(command.code);
      if (!section) throw new SectionNotFoundError(command.code);
      return section;
    }),
    rpcHandler(ListStudentEnrollments, (command) =>
      listStudentEnrollments(store, command.student_id, command.actor, command.term, command.page),
    ),
    rpcHandler(DropEnrollment, (command) =>
      dropEnrollment(store, command.enrollment_id, command.actor),
    ),
    rpcHandler(SectionRosterReport, async (command) => {
      const roster = await store.roster(command.section);
      if (!roster) throw new SectionNotFoundError(command.section);
      return roster;
    }),
    rpcHandler(CreateSection, (command) => store.createSection(command)),
    rpcHandler(CreateStudent, (command) => store.createStudent(command)),
    rpcHandler(GetEnrollmentStats, () => store.stats()),
    rpcHandler(ListSagas, (command) => store.listSagas(command.status, command.page)),
    rpcHandler(PurgeSagas, async (command) => ({
      purged: await store.purgeSagas(command.status, command.older_than_seconds),
    })),
    rpcHandler(ForgetIdempotencyKey, async (command) => ({
      forgotten: await store.forgetIdempotencyKey(command.key),
    })),
  ];
}
