import { rpcHandler, type RpcHandler } from '@cupo/amqp';
import {
  GetQueryCommand,
  GetTaskCommand,
  IngestCommand,
  ListTasksCommand,
  OnboardingCommands,
  OnboardingConfig,
  RetryTaskCommand,
  SubmitQueryCommand,
  WorkerCommands,
} from '@cupo/contracts';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { TaskNotFoundError } from '../../domain/errors.js';
import type { OnboardingStore } from '../../app/onboarding/ports.js';
import { retryTask } from '../../app/onboarding/retry-task.js';
import { getQuery } from '../../app/get-query.js';
import type { QueryStore } from '../../app/ports.js';
import { submitQuery } from '../../app/submit-query.js';

/** The commands the worker answers: this file is its whole synchronous API. */
export function rpcHandlers(deps: {
  store: QueryStore;
  onboarding: OnboardingStore;
  outboxWritten: () => void;
  queryDeadlineMs: number;
}): Record<string, RpcHandler> {
  const { onboarding } = deps;
  return {
    [OnboardingCommands.ingest]: rpcHandler(IngestCommand, async (command) => {
      const task = await onboarding.createIngest(randomUUID(), { students: command.students, requestedBy: command.requested_by });
      deps.outboxWritten();
      return { task_id: task.id, status: task.status, status_url: `/api/admin/tasks/${task.id}` };
    }),
    [OnboardingCommands.getConfig]: rpcHandler(z.object({}), () => onboarding.getConfig()),
    [OnboardingCommands.putConfig]: rpcHandler(OnboardingConfig, (config) => onboarding.putConfig(config)),
    [OnboardingCommands.listTasks]: rpcHandler(ListTasksCommand, ({ page, ...filter }) => onboarding.listTasks(filter, page)),
    [OnboardingCommands.getTask]: rpcHandler(GetTaskCommand, async ({ task_id }) => {
      const task = await onboarding.findTask(task_id);
      if (!task) throw new TaskNotFoundError(task_id);
      return task;
    }),
    [OnboardingCommands.retryTask]: rpcHandler(RetryTaskCommand, async ({ task_id, requested_by }) => {
      const task = await retryTask({ store: onboarding, outboxWritten: deps.outboxWritten }, task_id, requested_by);
      return { task, status_url: `/api/admin/tasks/${task.id}` };
    }),
    [WorkerCommands.submitQuery]: rpcHandler(SubmitQueryCommand, (command, context) =>
      submitQuery({ ...deps, deadlineMs: deps.queryDeadlineMs }, command.query, command.actor, context.requestId),
    ),
    [WorkerCommands.getQuery]: rpcHandler(GetQueryCommand, (command) => getQuery(deps.store, command.query_id, command.actor)),
  };
}
