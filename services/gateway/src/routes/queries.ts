import { Router } from 'express';
import type { RpcClient } from '@cupo/amqp';
import { GetQuery, QueryRequestBody, SubmitQuery } from '@cupo/contracts';
import { actorOf, type authenticate } from '../http/auth.js';
import { parseInput, uuidParam } from '../http/validate.js';

/**
 * Asynchronous queries (reports): recorded `pending` by the worker together with their
 * message (outbox), answered 202; clients poll. Who may ask for which report and read which
 * query is the worker's rule (domain/query-access.ts), next to the queries it keeps: a
 * `section_roster` (students' names and e-mails) is for admins only.
 */
export function queryRoutes(rpc: RpcClient, auth: ReturnType<typeof authenticate>): Router {
  const router = Router();

  router.post('/api/queries', auth, async (req, res) => {
    const query = parseInput(QueryRequestBody, req.body);
    const accepted = await rpc.call(SubmitQuery, { query, actor: actorOf(req) }, { requestId: req.requestId });
    res.status(202).location(accepted.status_url).json(accepted);
  });

  router.get('/api/queries/:id', auth, async (req, res) => {
    const id = uuidParam(req.params.id, 'QUERY_NOT_FOUND', 'Query');
    res.json(await rpc.call(GetQuery, { query_id: id, actor: actorOf(req) }, { requestId: req.requestId }));
  });

  return router;
}
