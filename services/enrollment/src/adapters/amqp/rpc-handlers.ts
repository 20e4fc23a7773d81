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
import type { CatalogStore, EnrollmentMetrics, OpsStore, SagaStore } from '../../app/ports.js';
import { submitEnrollment } from '../../app/submit-enrollment.js';
import { SectionNotFoundError } from '../../domain/errors.js';

export interface RpcDeps {
  sagas: SagaStore;
  catalog: CatalogStore;
  ops: OpsStore;
  metrics: EnrollmentMetrics;
  keyTtlSeconds: number;
}

/** The commands enrollment answers: parse (by the command's schema), call the use case, map the reply. */
export function rpcHandlers(deps: RpcDeps): RpcHandler[] {
  const { sagas, catalog, ops } = deps;
  return [
    rpcHandler(SubmitEnrollment, (command, context) =>
      submitEnrollment({ store: sagas, metrics: deps.metrics, keyTtlSeconds: deps.keyTtlSeconds }, command, context.requestId),
    ),
    rpcHandler(GetEnrollmentRequest, (command) => getEnrollmentRequest(sagas, command.request_id, command.actor)),
    rpcHandler(ListTerms, (command) => catalog.listTerms(command.page)),
    rpcHandler(ListSections, (command) => catalog.listSections(command.term, command.page)),
    rpcHandler(ListEnrollmentRequests, (command) =>
      listEnrollmentRequests(sagas, command.actor, command.status, {
        limit: command.limit,
        ...(command.cursor ? { cursor: command.cursor } : {}),
      }),
    ),
    rpcHandler(GetSection, async (command) => {
      const section = await catalog.findSection(command.code);
      if (!section) throw new SectionNotFoundError(command.code);
      return section;
    }),
    rpcHandler(ListStudentEnrollments, (command) =>
      listStudentEnrollments(catalog, command.student_id, command.actor, command.term, command.page),
    ),
    rpcHandler(DropEnrollment, (command) => dropEnrollment(catalog, command.enrollment_id, command.actor)),
    rpcHandler(SectionRosterReport, async (command) => {
      const roster = await ops.roster(command.section);
      if (!roster) throw new SectionNotFoundError(command.section);
      return roster;
    }),
    rpcHandler(CreateSection, (command) => catalog.createSection(command)),
    rpcHandler(CreateStudent, (command) => catalog.createStudent(command)),
    rpcHandler(GetEnrollmentStats, () => ops.stats()),
    rpcHandler(ListSagas, (command) => ops.listSagas(command.status, command.page)),
    // Batches until a second before the caller stops waiting; what is left waits for the next call.
    rpcHandler(PurgeSagas, (command, context) => ops.purgeSagas(command.status, command.older_than_seconds, context.deadline - 1_000)),
    rpcHandler(ForgetIdempotencyKey, async (command) => ({
      forgotten: await ops.forgetIdempotencyKey(command.key),
    })),
  ];
}
