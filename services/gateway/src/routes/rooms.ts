import { Router } from 'express';
import type { RpcClient } from '@cupo/amqp';
import { AvailabilityQuery, CreateRoom, CreateRoomBody, GetAvailability, GetRoom, ListRooms, RoomId } from '@cupo/contracts';
import { z } from 'zod';
import { requireRole, type authenticate } from '../http/auth.js';
import { parseListQuery, sendPage } from '../http/pagination.js';
import { ResourceNotFoundError } from '../http/problem.js';
import { parseInput } from '../http/validate.js';

/** Rooms and availability: public reads, admin creation. Served by inventory over RPC. */
export function roomRoutes(rpc: RpcClient, auth: ReturnType<typeof authenticate>): Router {
  const router = Router();

  router.get('/api/rooms', async (req, res) => {
    const { page } = parseListQuery(z.strictObject({}), req.query);
    sendPage(req, res, await rpc.call(ListRooms, { page }, { requestId: req.requestId }));
  });

  router.get('/api/rooms/:id', async (req, res) => {
    const roomId = roomIdOf(req.params.id);
    res.json(await rpc.call(GetRoom, { room_id: roomId }, { requestId: req.requestId }));
  });

  router.get('/api/rooms/:id/availability', async (req, res) => {
    const roomId = roomIdOf(req.params.id);
    const query = parseInput(AvailabilityQuery, req.query);
    res.json(await rpc.call(GetAvailability, { room_id: roomId, from: query.from, to: query.to }, { requestId: req.requestId }));
  });

  router.post('/api/admin/rooms', auth, requireRole('admin'), async (req, res) => {
    const body = parseInput(CreateRoomBody, req.body);
    res.status(201).json(await rpc.call(CreateRoom, body, { requestId: req.requestId }));
  });

  return router;
}

/** A path id that cannot be a room is simply a room that does not exist. */
function roomIdOf(raw: string | string[] | undefined): number {
  const parsed = RoomId.safeParse(raw);
  if (!parsed.success || !/^\d+$/.test(String(raw))) {
    throw new ResourceNotFoundError('ROOM_NOT_FOUND', 'Room', String(raw));
  }
  return parsed.data;
}
