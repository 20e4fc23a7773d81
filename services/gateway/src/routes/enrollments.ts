import { createHash } from 'node:crypto';
import { Router } from 'express';
import type { RpcClient } from '@cupo/amqp';
import {
  CreateSection,
  CreateSectionBody,
  CreateStudent,
  CreateStudentBody,
  DropEnrollment,
  EnrollmentRequestBody,
  GetEnrollmentRequest,
  GetSection,
  ListEnrollmentRequests,
  ListSections,
  ListStudentEnrollments,
  ListTerms,
  SectionCode,
  RequestsQuery,
  SectionsQuery,
  StudentEnrollmentsQuery,
  StudentId,
  SubmitEnrollment,
} from '@cupo/contracts';
import { z } from 'zod';
import { actorOf, requireRole, type authenticate } from '../http/auth.js';
import { parseListQuery, sendPage } from '../http/pagination.js';
import { IdempotencyKeyHeader, parseInput, pathParam, uuidParam } from '../http/validate.js';
import { fingerprintOf } from '../idempotency/idempotency-store.js';
import { scopedKey } from '../idempotency/scoped-key.js';

/**
 * Course enrollment: public catalog reads, students' requests (queued, answered 202), and
 * admin creation of students and sections. Served by enrollment over RPC.
 */
export function enrollmentRoutes(rpc: RpcClient, auth: ReturnType<typeof authenticate>): Router {
  const router = Router();

  router.get('/api/terms', async (req, res) => {
    const { page } = parseListQuery(z.strictObject({}), req.query);
    sendPage(req, res, await rpc.call(ListTerms, { page }, { requestId: req.requestId }));
  });

  router.get('/api/sections', async (req, res) => {
    const { filters, page } = parseListQuery(SectionsQuery, req.query);
    sendPage(req, res, await rpc.call(ListSections, { ...filters, page }, { requestId: req.requestId }));
  });

  router.get('/api/sections/:code', async (req, res) => {
    const code = pathParam(SectionCode, req.params.code, 'SECTION_NOT_FOUND', 'Section');
    res.json(await rpc.call(GetSection, { code }, { requestId: req.requestId }));
  });

  router.post('/api/enrollments', auth, requireRole('student'), async (req, res) => {
    const body = parseInput(EnrollmentRequestBody, req.body);
    const actor = actorOf(req);
    const rawKey = req.get('idempotency-key');
    // The key is scoped to the student, so two students' keys never meet. Without a client
    // key, the request itself is the key: (student, term, sorted sections) — the same
    // sections in another order are the same request.
    const sorted = [...body.sections].sort();
    const derived = rawKey === undefined;
    const key = derived
      ? scopedKey('enrollment', actor.id, body.term, sorted.join(','))
      : scopedKey('enrollment', actor.id, parseInput(IdempotencyKeyHeader, rawKey));
    const fingerprint = derived
      ? createHash('sha256').update(key).digest('hex')
      : fingerprintOf({ userId: actor.id, method: 'POST', route: '/api/enrollments', body });
    const submitted = await rpc.call(
      SubmitEnrollment,
      {
        student_id: actor.id,
        term: body.term,
        sections: body.sections,
        idempotency_key: key,
        derived_key: derived,
        fingerprint,
      },
      { requestId: req.requestId },
    );
    if (submitted.replayed) res.set('Idempotent-Replayed', 'true');
    res.status(202).location(submitted.response.status_url).json(submitted.response);
  });

  // The student's own requests (`?status=open`: the ones still in progress), so a page left
  // while one was queued shows its live status again on return, from any device.
  router.get('/api/enrollments/requests', auth, requireRole('student'), async (req, res) => {
    const query = parseInput(RequestsQuery, req.query);
    const page = await rpc.call(ListEnrollmentRequests, { actor: actorOf(req), ...query }, { requestId: req.requestId });
    if (page.next !== undefined) {
      const params = new URLSearchParams({
        ...(query.status ? { status: query.status } : {}),
        limit: String(query.limit),
        cursor: page.next,
      });
      res.set('Link', `</api/enrollments/requests?${params}>; rel="next"`);
    }
    res.json(page.items);
  });

  router.get('/api/enrollments/requests/:id', auth, async (req, res) => {
    const id = uuidParam(req.params.id, 'REQUEST_NOT_FOUND', 'Enrollment request');
    res.json(await rpc.call(GetEnrollmentRequest, { request_id: id, actor: actorOf(req) }, { requestId: req.requestId }));
  });

  router.get('/api/students/:id/enrollments', auth, async (req, res) => {
    const { filters, page } = parseListQuery(StudentEnrollmentsQuery, req.query);
    sendPage(
      req,
      res,
      await rpc.call(
        ListStudentEnrollments,
        { student_id: pathParam(StudentId, req.params.id, 'STUDENT_NOT_FOUND', 'Student'), actor: actorOf(req), ...filters, page },
        { requestId: req.requestId },
      ),
    );
  });

  router.delete('/api/enrollments/:id', auth, async (req, res) => {
    const id = uuidParam(req.params.id, 'ENROLLMENT_NOT_FOUND', 'Enrollment');
    res.json(await rpc.call(DropEnrollment, { enrollment_id: id, actor: actorOf(req) }, { requestId: req.requestId }));
  });

  router.post('/api/admin/sections', auth, requireRole('admin'), async (req, res) => {
    const body = parseInput(CreateSectionBody, req.body);
    res.status(201).json(await rpc.call(CreateSection, body, { requestId: req.requestId }));
  });

  router.post('/api/admin/students', auth, requireRole('admin'), async (req, res) => {
    const body = parseInput(CreateStudentBody, req.body);
    res.status(201).json(await rpc.call(CreateStudent, body, { requestId: req.requestId }));
  });

  return router;
}
