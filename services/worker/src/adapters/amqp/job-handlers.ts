import type { JobConsumerOptions } from '@cupo/amqp';
import type { z } from 'zod';
import { OnboardingJobs, OnboardingMessage, QueryRequestedMessage, WorkerJobs } from '@cupo/contracts';
import type { Logger } from '@cupo/service-kit';
import type { OnboardingStore, StudentSource } from '../../app/onboarding/ports.js';
import { runBatch, type BatchDeps } from '../../app/onboarding/run-batch.js';
import { runIngest } from '../../app/onboarding/run-ingest.js';
import { failQuery, runQuery, type RunQueryDeps } from '../../app/queries/run-query.js';

/** What a job consumer needs from its queue's owner: where, what it parses, what it runs. */
export type JobHandler<T> = Pick<JobConsumerOptions<T>, 'topology' | 'schema' | 'prefetch' | 'handle' | 'onGiveUp'>;

/** The queues the worker consumes: this file is its whole asynchronous API. */
export function jobHandlers(deps: {
  queries: RunQueryDeps;
  onboarding: OnboardingStore;
  batch: BatchDeps;
  source: StudentSource;
  logger: Logger;
  replicaId: string;
  config: { JOB_DELIVERY_LIMIT: number; QUERY_PREFETCH: number; ONBOARDING_PREFETCH: number; TASK_LEASE_MS: number };
}) {
  const { config, onboarding } = deps;
  const queries: JobHandler<z.infer<typeof QueryRequestedMessage>> = {
    topology: {
      exchange: WorkerJobs.exchange,
      queue: WorkerJobs.queryQueue,
      routingKey: WorkerJobs.queryRequested,
      deliveryLimit: config.JOB_DELIVERY_LIMIT,
    },
    schema: QueryRequestedMessage,
    prefetch: config.QUERY_PREFETCH,
    handle: (message, context) => runQuery(deps.queries, message.query_id, context.requestId),
    onGiveUp: (message, error, context) =>
      failQuery(deps.queries, message.query_id, context.attempt, error instanceof Error ? error.message : String(error)),
  };
  const onboardingJobs: JobHandler<z.infer<typeof OnboardingMessage>> = {
    topology: {
      exchange: OnboardingJobs.exchange,
      queue: OnboardingJobs.queue,
      routingKey: OnboardingJobs.routingKey,
      deliveryLimit: config.JOB_DELIVERY_LIMIT,
    },
    schema: OnboardingMessage,
    prefetch: config.ONBOARDING_PREFETCH,
    handle: (message) =>
      message.kind === 'ingest'
        ? runIngest(
            { store: onboarding, source: deps.source, logger: deps.logger, leaseMs: config.TASK_LEASE_MS, replicaId: deps.replicaId },
            message.task_id,
          )
        : runBatch(deps.batch, message.task_id),
    onGiveUp: (message, error) => onboarding.fail(message.task_id, { error: error instanceof Error ? error.message : String(error) }),
  };
  return { queries, onboarding: onboardingJobs };
}
