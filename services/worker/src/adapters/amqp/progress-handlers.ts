import { rpcHandler, type RpcHandler } from '@cupo/amqp';
import { GetIngestProgress, GetTaskSummary } from '@cupo/contracts';
import { getIngestProgress, type OnboardingProgressReader } from '../../app/onboarding/ingest-progress.js';

/** The worker's answers for admins following onboarding: an ingest's progress, the task counts. */
export function progressHandlers(reader: OnboardingProgressReader): RpcHandler[] {
  return [
    rpcHandler(GetIngestProgress, ({ task_id }) => getIngestProgress(reader, task_id)),
    rpcHandler(GetTaskSummary, () => reader.taskSummary()),
  ];
}
