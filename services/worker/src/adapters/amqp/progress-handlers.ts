import { rpcHandler, type RpcHandler } from '@cupo/amqp';
import { IngestProgressCommand, OnboardingProgressCommands } from '@cupo/contracts';
import { z } from 'zod';
import { getIngestProgress, type OnboardingProgressReader } from '../../app/onboarding/ingest-progress.js';

/** The worker's answers for admins following onboarding: an ingest's progress, the task counts. */
export function progressHandlers(reader: OnboardingProgressReader): Record<string, RpcHandler> {
  return {
    [OnboardingProgressCommands.progress]: rpcHandler(IngestProgressCommand, ({ task_id }) => getIngestProgress(reader, task_id)),
    [OnboardingProgressCommands.taskSummary]: rpcHandler(z.object({}), () => reader.taskSummary()),
  };
}
