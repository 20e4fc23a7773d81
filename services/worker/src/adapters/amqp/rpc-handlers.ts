import { rpcHandler, type RpcHandler } from '@cupo/amqp';
import {
  GetOnboardingConfig,
  GetOnboardingConfigV1,
  GetQuery,
  GetTask,
  IngestStudents,
  ListTasks,
  PutOnboardingConfig,
  PutOnboardingConfigV1,
  RetryTask,
  SubmitQuery,
  type OnboardingConfig,
} from '@cupo/contracts';
import { randomUUID } from 'node:crypto';
import { TaskNotFoundError } from '../../domain/errors.js';
import type { OnboardingStore } from '../../app/onboarding/ports.js';
import { retryTask } from '../../app/onboarding/retry-task.js';
import { updateConfig } from '../../app/onboarding/update-config.js';
import { getQuery } from '../../app/queries/get-query.js';
import type { QueryStore } from '../../app/queries/ports.js';
import { submitQuery } from '../../app/queries/submit-query.js';

const withoutSchedule = ({ ingest_schedule: _schedule, ...settings }: OnboardingConfig) => settings;

/** The commands the worker answers: this file is its whole synchronous API. */
export function rpcHandlers(deps: { store: QueryStore; onboarding: OnboardingStore; queryDeadlineMs: number }): RpcHandler[] {
  const { onboarding } = deps;
  return [
    rpcHandler(IngestStudents, async (command) => {
      const task = await onboarding.createIngest(randomUUID(), { students: command.students, requestedBy: command.requested_by });
      return { task_id: task.id, status: task.status, status_url: `/api/admin/tasks/${task.id}` };
    }),
    rpcHandler(GetOnboardingConfig, () => onboarding.getConfig()),
    rpcHandler(PutOnboardingConfig, (config) => updateConfig(onboarding, config)),
    // The previous gateway's (see contracts): the schedule stays as it is and is not shown.
    rpcHandler(GetOnboardingConfigV1, async () => withoutSchedule(await onboarding.getConfig())),
    rpcHandler(PutOnboardingConfigV1, async (config) => withoutSchedule(await updateConfig(onboarding, config))),
    rpcHandler(ListTasks, ({ page, ...filter }) => onboarding.listTasks(filter, page)),
    rpcHandler(GetTask, async ({ task_id }) => {
      const task = await onboarding.findTask(task_id);
      if (!task) throw new TaskNotFoundError(task_id);
      return task;
    }),
    rpcHandler(RetryTask, async ({ task_id, requested_by }) => {
      const task = await retryTask({ store: onboarding }, task_id, requested_by);
      return { task, status_url: `/api/admin/tasks/${task.id}` };
    }),
    rpcHandler(SubmitQuery, (command, context) =>
      submitQuery({ ...deps, deadlineMs: deps.queryDeadlineMs }, command.query, command.actor, context.requestId),
    ),
    rpcHandler(GetQuery, (command) => getQuery(deps.store, command.query_id, command.actor)),
  ];
}
