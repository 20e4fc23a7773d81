import { rpcHandler, type RpcHandler } from '@cupo/amqp';
import { GetQueryCommand, SubmitQueryCommand, WorkerCommands } from '@cupo/contracts';
import { getQuery } from '../../app/get-query.js';
import type { QueryStore } from '../../app/ports.js';
import { submitQuery } from '../../app/submit-query.js';

/** The commands the worker answers: this file is its whole synchronous API. */
export function rpcHandlers(deps: { store: QueryStore; outboxWritten: () => void }): Record<string, RpcHandler> {
  return {
    [WorkerCommands.submitQuery]: rpcHandler(SubmitQueryCommand, (command, context) =>
      submitQuery(deps, command.query, command.actor, context.requestId),
    ),
    [WorkerCommands.getQuery]: rpcHandler(GetQueryCommand, (command) => getQuery(deps.store, command.query_id, command.actor)),
  };
}
