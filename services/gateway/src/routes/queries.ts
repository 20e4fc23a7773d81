import { Router } from 'express';
import { z } from 'zod';
import type { RpcClient } from '@cupo/amqp';
import { QueryRequestBody, WorkerCommands } from '@cupo/contracts';
import { DomainError } from '@cupo/errors';
import { actorOf, type authenticate } from '../http/auth.js';
import { parseInput } from '../http/validate.js';

const Uuid = z.uuid();

/**
 * Asynchronous queries (reports): recorded `pending` by the worker together with their
 * message (outbox), answered 202; clients poll. Any signed-in user may ask; a query is read
 * back by whoever asked it, or an admin.
 */
export function queryRoutes(rpc: RpcClient, auth: ReturnType<typeof authenticate>): Router {
  const router = Router();

  router.post('/api/queries', auth, async (req, res) => {
    const query = parseInput(QueryRequestBody, req.body);
    const accepted = await rpc.call<{ query_id: string; status: string; status_url: string }>(
      WorkerCommands.submitQuery,
      { query, actor: actorOf(req) },
      { requestId: req.requestId },
    );
    res.status(202).location(accepted.status_url).json(accepted);
  });

  router.get('/api/queries/:id', auth, async (req, res) => {
    const parsed = Uuid.safeParse(req.params.id);
    if (!parsed.success) throw new DomainError('not_found', 'QUERY_NOT_FOUND', `Query ${String(req.params.id)} does not exist`);
    res.json(await rpc.call(WorkerCommands.getQuery, { query_id: parsed.data, actor: actorOf(req) }, { requestId: req.requestId }));
  });

  return router;
}
