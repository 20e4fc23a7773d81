import { randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { v5 as uuidv5 } from 'uuid';
import type { RpcClient } from '@cupo/amqp';
import { BookingRequestBody, CancelBooking, ConfirmBooking, GetBooking, ListBookings, ListBookingsQuery } from '@cupo/contracts';
import { isRefusal, isTransient } from '@cupo/errors';
import { actorOf, type authenticate } from '../http/auth.js';
import { parseListQuery, sendPage } from '../http/pagination.js';
import { renderDomainError } from '../http/problem.js';
import { IdempotencyKeyHeader, parseInput, uuidParam } from '../http/validate.js';
import { scopedKey } from '../idempotency/scoped-key.js';
import { fingerprintOf, type IdempotencyStore, type StoredResponse } from '../idempotency/idempotency-store.js';

/** Namespace for booking ids derived from (user, Idempotency-Key). */
const BOOKING_ID_NAMESPACE = '6f1c7a52-3f0e-4d7b-9a54-2b8e1f0c9d11';

export function bookingRoutes(rpc: RpcClient, idempotency: IdempotencyStore, auth: ReturnType<typeof authenticate>): Router {
  const router = Router();

  const confirm = async (req: Request, res: Response) => {
    const body = parseInput(BookingRequestBody, req.body);
    const actor = actorOf(req);
    const rawKey = req.get('idempotency-key');
    const key = rawKey === undefined ? undefined : parseInput(IdempotencyKeyHeader, rawKey);
    const fingerprint = fingerprintOf({ userId: actor.id, method: 'POST', route: '/api/bookings', body });
    // With a key, the booking id is derived from the caller, the key and the stay asked for:
    // a retry of the same request reaches booking with the same id even if the key's Redis
    // entry is lost (it is recognised there instead of booking twice), and the same key with
    // another stay can never name, or be answered with, this booking.
    const bookingId = key ? uuidv5(`${actor.id}\n${key}\n${fingerprint}`, BOOKING_ID_NAMESPACE) : randomUUID();
    // One per HTTP request: duplicates of the command (redeliveries) share it, a retry does not.
    const attemptId = randomUUID();
    const work = () =>
      asResponse(201, () =>
        rpc.call(
          ConfirmBooking,
          { booking_id: bookingId, attempt_id: attemptId, user_id: actor.id, ...body },
          { requestId: req.requestId },
        ),
      );
    if (!key) return send(res, await work(), false);
    // Keys belong to their caller: two users' equal keys are unrelated.
    const { response, replayed } = await idempotency.execute(scopedKey('booking', actor.id, key), fingerprint, work);
    send(res, response, replayed);
  };
  router.post('/api/bookings', auth, confirm);
  router.post('/api/bookings/confirm', auth, confirm);

  router.get('/api/bookings', auth, async (req, res) => {
    const { filters, page } = parseListQuery(ListBookingsQuery, req.query);
    sendPage(req, res, await rpc.call(ListBookings, { actor: actorOf(req), ...filters, page }, { requestId: req.requestId }));
  });

  router.get('/api/bookings/:id', auth, async (req, res) => {
    res.json(await rpc.call(GetBooking, { booking_id: bookingIdOf(req.params.id), actor: actorOf(req) }, { requestId: req.requestId }));
  });

  router.post('/api/bookings/:id/cancel', auth, async (req, res) => {
    res.json(await rpc.call(CancelBooking, { booking_id: bookingIdOf(req.params.id), actor: actorOf(req) }, { requestId: req.requestId }));
  });

  return router;
}

const bookingIdOf = (raw: string | string[] | undefined) => uuidParam(raw, 'BOOKING_NOT_FOUND', 'Booking');

/**
 * Runs the work and captures its answer, refusals included, as the response to keep: a
 * 409 is as much "the answer to this request" as a 201.
 */
async function asResponse(status: number, work: () => Promise<unknown>): Promise<StoredResponse> {
  try {
    return { status, contentType: 'application/json', headers: {}, body: await work() };
  } catch (error) {
    if (!isRefusal(error) && !isTransient(error)) throw error;
    const rendered = renderDomainError(error);
    return { ...rendered, contentType: 'application/problem+json' };
  }
}

function send(res: Response, response: StoredResponse, replayed: boolean): void {
  if (replayed) res.set('Idempotent-Replayed', 'true');
  res.set(response.headers).status(response.status).type(response.contentType).send(JSON.stringify(response.body));
}
