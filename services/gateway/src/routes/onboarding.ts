import { Router, type RequestHandler } from 'express';
import type { RpcClient } from '@cupo/amqp';
import {
  GetIngestProgress,
  GetOnboardingConfig,
  GetTask,
  GetTaskSummary,
  IngestBody,
  IngestStudents,
  ListTasks,
  OnboardingConfig,
  PutOnboardingConfig,
  RetryTask,
  TasksQuery,
} from '@cupo/contracts';
import { actorOf, requireRole } from '../http/auth.js';
import { parseListQuery, sendPage } from '../http/pagination.js';
import { parseInput, uuidParam } from '../http/validate.js';

/** Student onboarding, for admins: ingest, tasks, and the batch and rate-limit settings. Served by the worker. */
export function onboardingRoutes(rpc: RpcClient, auth: RequestHandler, ingestBody: RequestHandler): Router {
  const router = Router();
  const admin = [auth, requireRole('admin')];

  // Its own, larger body limit, read only once the caller is known to be an admin.
  router.post('/api/admin/onboarding/ingest', ...admin, ingestBody, async (req, res) => {
    const body = parseInput(IngestBody, req.body ?? {});
    const accepted = await rpc.call(
      IngestStudents,
      { students: body.students, requested_by: actorOf(req).id },
      { requestId: req.requestId },
    );
    res.status(202).location(accepted.status_url).json(accepted);
  });

  router.get('/api/admin/tasks', ...admin, async (req, res) => {
    const { filters, page } = parseListQuery(TasksQuery, req.query);
    sendPage(req, res, await rpc.call(ListTasks, { ...filters, page }, { requestId: req.requestId }));
  });

  // One query each in the worker: a page following an ingest asks once a second at most.
  router.get('/api/admin/onboarding/:id/progress', ...admin, async (req, res) => {
    const id = uuidParam(req.params.id, 'TASK_NOT_FOUND', 'Ingest task');
    res.json(await rpc.call(GetIngestProgress, { task_id: id }, { requestId: req.requestId }));
  });

  router.get('/api/admin/tasks/summary', ...admin, async (req, res) => {
    res.json(await rpc.call(GetTaskSummary, {}, { requestId: req.requestId }));
  });

  router.get('/api/admin/tasks/:id', ...admin, async (req, res) => {
    const id = uuidParam(req.params.id, 'TASK_NOT_FOUND', 'Task');
    res.json(await rpc.call(GetTask, { task_id: id }, { requestId: req.requestId }));
  });

  // Runs a failed task again (a workflow; a batch's failed workflows; an ingest): 202, then poll the task.
  router.post('/api/admin/tasks/:id/retry', ...admin, async (req, res) => {
    const id = uuidParam(req.params.id, 'TASK_NOT_FOUND', 'Task');
    const accepted = await rpc.call(RetryTask, { task_id: id, requested_by: actorOf(req).id }, { requestId: req.requestId });
    res.status(202).location(accepted.status_url).json(accepted.task);
  });

  router.get('/api/admin/config', ...admin, async (req, res) => {
    res.json(await rpc.call(GetOnboardingConfig, {}, { requestId: req.requestId }));
  });

  router.put('/api/admin/config', ...admin, async (req, res) => {
    const config = parseInput(OnboardingConfig, req.body);
    res.json(await rpc.call(PutOnboardingConfig, config, { requestId: req.requestId }));
  });

  return router;
}
