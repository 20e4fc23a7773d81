import { rpcHandler, type RpcHandler } from '@cupo/amqp';
import { CircuitBreakerNotFoundError, type CircuitBreakers } from '@cupo/circuit-breakers';
import {
  CreateSectionBody,
  CreateStudentBody,
  DropEnrollmentCommand,
  EnrollmentBroadcasts,
  EnrollmentCommands,
  EnrollmentRequestCommands,
  ForgetIdempotencyKeyCommand,
  GetRequestCommand,
  GetSectionCommand,
  ListRequestsCommand,
  ListSagasCommand,
  ListSectionsCommand,
  ListTermsCommand,
  ListStudentEnrollmentsCommand,
  PurgeSagasCommand,
  ReportCommands,
  SectionRosterCommand,
  ResetBreakerCommand,
  SubmitEnrollmentCommand,
} from '@cupo/contracts';
import { z } from 'zod';
import { dropEnrollment } from '../../app/drop-enrollment.js';
import { getEnrollmentRequest } from '../../app/get-enrollment-request.js';
import { listEnrollmentRequests } from '../../app/list-enrollment-requests.js';
import { listStudentEnrollments } from '../../app/list-student-enrollments.js';
import type { EnrollmentStore } from '../../app/ports.js';
import { submitEnrollment, type SubmitDeps } from '../../app/submit-enrollment.js';
import { SectionNotFoundError } from '../../domain/errors.js';

export function rpcHandlers(deps: SubmitDeps & { store: EnrollmentStore }): Record<string, RpcHandler> {
  const { store } = deps;
  return {
    [EnrollmentCommands.submit]: rpcHandler(SubmitEnrollmentCommand, (command, context) =>
      submitEnrollment(deps, command, context.requestId),
    ),
    [EnrollmentCommands.getRequest]: rpcHandler(GetRequestCommand, (command) =>
      getEnrollmentRequest(store, command.request_id, command.actor),
    ),
    [EnrollmentCommands.listTerms]: rpcHandler(ListTermsCommand, (command) => store.listTerms(command.page)),
    [EnrollmentCommands.listSections]: rpcHandler(ListSectionsCommand, (command) =>
      store.listSections(command.term, command.page),
    ),
    [EnrollmentRequestCommands.listRequests]: rpcHandler(ListRequestsCommand, (command) =>
      listEnrollmentRequests(store, command.actor, command.status, {
        limit: command.limit,
        ...(command.cursor ? { cursor: command.cursor } : {}),
      }),
    ),
    [EnrollmentCommands.getSection]: rpcHandler(GetSectionCommand, async (command) => {
      const section = await store.findSection(command.code);
      if (!section) throw new SectionNotFoundError(command.code);
      return section;
    }),
    [EnrollmentCommands.listStudentEnrollments]: rpcHandler(ListStudentEnrollmentsCommand, (command) =>
      listStudentEnrollments(store, command.student_id, command.actor, command.term, command.page),
    ),
    [EnrollmentCommands.drop]: rpcHandler(DropEnrollmentCommand, (command) =>
      dropEnrollment(store, command.enrollment_id, command.actor),
    ),
    [ReportCommands.sectionRoster]: rpcHandler(SectionRosterCommand, async (command) => {
      const roster = await store.roster(command.section);
      if (!roster) throw new SectionNotFoundError(command.section);
      return roster;
    }),
    [EnrollmentCommands.createSection]: rpcHandler(CreateSectionBody, (command) => store.createSection(command)),
    [EnrollmentCommands.createStudent]: rpcHandler(CreateStudentBody, (command) => store.createStudent(command)),
    [EnrollmentCommands.stats]: rpcHandler(z.object({}), () => store.stats()),
    [EnrollmentCommands.listSagas]: rpcHandler(ListSagasCommand, (command) => store.listSagas(command.status, command.page)),
    [EnrollmentCommands.purgeSagas]: rpcHandler(PurgeSagasCommand, async (command) => ({
      purged: await store.purgeSagas(command.status, command.older_than_seconds),
    })),
    [EnrollmentCommands.forgetIdempotencyKey]: rpcHandler(ForgetIdempotencyKeyCommand, async (command) => ({
      forgotten: await store.forgetIdempotencyKey(command.key),
    })),
  };
}

/** Answered by every replica: breakers are per process. */
export function broadcastHandlers(breakers: CircuitBreakers, instance: string): Record<string, RpcHandler> {
  return {
    [EnrollmentBroadcasts.listBreakers]: rpcHandler(z.object({}), async () => ({
      instance,
      breakers: breakers.snapshot(),
    })),
    [EnrollmentBroadcasts.resetBreaker]: rpcHandler(ResetBreakerCommand, async (command) => {
      if (!breakers.has(command.name)) throw new CircuitBreakerNotFoundError(command.name);
      breakers.reset(command.name);
      return { instance, name: command.name, state: breakers.stateOf(command.name) };
    }),
  };
}
