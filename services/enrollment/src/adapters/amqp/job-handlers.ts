import { JobConsumer, type AmqpConnectionManager, type JobTopology } from '@cupo/amqp';
import { EnrollmentRequestedMessage } from '@cupo/contracts';
import type { Logger } from '@cupo/service-kit';
import type { Registry } from 'prom-client';
import type { EnrollmentMetrics, SagaStore } from '../../app/ports.js';
import { abandonEnrollmentRequest, processEnrollmentRequest } from '../../app/process-enrollment-request.js';

/** What enrollment consumes from its queues: parse (by the message's schema), call the use case. */
export function jobHandlers(deps: {
  amqp: AmqpConnectionManager;
  topology: JobTopology;
  sagas: SagaStore;
  metrics: EnrollmentMetrics;
  prefetch: number;
  maxAttempts: number;
  backoff: { initialMs: number; maxMs: number };
  logger: Logger;
  registry: Registry;
}) {
  const processDeps = { store: deps.sagas, metrics: deps.metrics };
  const requests = new JobConsumer(deps.amqp, {
    topology: deps.topology,
    schema: EnrollmentRequestedMessage,
    prefetch: deps.prefetch,
    maxAttempts: deps.maxAttempts,
    backoff: deps.backoff,
    handle: (message) => processEnrollmentRequest(processDeps, message.request_id),
    onGiveUp: (message, error, context) =>
      abandonEnrollmentRequest(processDeps, message.request_id, context.attempt, error instanceof Error ? error.message : String(error)),
    logger: deps.logger,
    registry: deps.registry,
  });
  return { requests };
}
