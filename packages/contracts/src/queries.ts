import { z } from 'zod';
import { Actor } from './actor.js';
import { IsoDate, daysBetween } from './dates.js';
import { SectionCode } from './enrollments.js';
import { accepted, rpcCommand } from './rpc.js';

/** The longest date window a report may cover. */
export const MAX_REPORT_WINDOW_DAYS = 366;

function checkWindow(q: { from: string; to: string }, ctx: z.RefinementCtx): void {
  const days = daysBetween(q.from, q.to);
  if (days < 1) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
  if (days > MAX_REPORT_WINDOW_DAYS)
    ctx.addIssue({ code: 'custom', path: ['to'], message: `the window may span at most ${MAX_REPORT_WINDOW_DAYS} days` });
}

/** `POST /api/queries`: an unknown type is a 400 like any other bad input. */
export const QueryRequestBody = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('occupancy_report'),
    params: z.strictObject({ from: IsoDate, to: IsoDate }).superRefine(checkWindow),
  }),
  z.strictObject({
    type: z.literal('room_search'),
    params: z
      .strictObject({ from: IsoDate, to: IsoDate, min_available: z.number().int().min(1).max(10_000).default(1) })
      .superRefine(checkWindow),
  }),
  z.strictObject({ type: z.literal('section_roster'), params: z.strictObject({ section: SectionCode }) }),
]);
export type QueryRequestBody = z.infer<typeof QueryRequestBody>;
export type QueryType = QueryRequestBody['type'];

export const QueryStatus = z.enum(['pending', 'completed', 'failed']);

export const QueryView = z.object({
  query_id: z.uuid(),
  type: z.string().max(64),
  status: QueryStatus,
  params: z.unknown(),
  result: z.unknown().optional(),
  // The detail is an error's own words (the last cause of a retried failure): not bounded here,
  // so that a long one still reads back instead of failing the read.
  error: z.object({ code: z.string().max(64), detail: z.string() }).optional(),
  created_at: z.iso.datetime({ offset: true }),
  processed_at: z.iso.datetime({ offset: true }).optional(),
});
export type QueryView = z.infer<typeof QueryView>;

// --- RPC served by worker -----------------------------------------------------------------

export const WorkerJobs = {
  exchange: 'cupo.jobs',
  queryRequested: 'worker.query-requested.v1',
  queryQueue: 'worker.queries',
} as const;

export const SubmitQueryCommand = z.object({ query: QueryRequestBody, actor: Actor });
export const GetQueryCommand = z.object({ query_id: z.uuid(), actor: Actor });
export const QueryRequestedMessage = z.object({ query_id: z.uuid() });

/** `POST /api/queries` answers 202 with this. */
export const QueryAccepted = accepted('query_id', QueryStatus);
export type QueryAccepted = z.infer<typeof QueryAccepted>;

export const SubmitQuery = rpcCommand('worker.queries.submit.v1', SubmitQueryCommand, QueryAccepted);
export const GetQuery = rpcCommand('worker.queries.get.v1', GetQueryCommand, QueryView);

// --- What the owners answer for reports ---------------------------------------------------

export const OccupancyCommand = z.object({ from: IsoDate, to: IsoDate });
export const RoomSearchCommand = z.object({ from: IsoDate, to: IsoDate, min_available: z.number().int().min(1).max(10_000) });
export const SectionRosterCommand = z.object({ section: SectionCode });

export const OccupancyRow = z.object({
  room_id: z.number().int(),
  name: z.string(),
  type: z.string(),
  room_nights: z.number().int(),
  sold: z.number().int(),
  /** sold / room_nights, to 4 places (0 with no night on sale). */
  occupancy: z.number(),
});
export type OccupancyRow = z.infer<typeof OccupancyRow>;

export const RoomSearchRow = z.object({
  room_id: z.number().int(),
  name: z.string(),
  type: z.string(),
  min_available: z.number().int(),
});
export type RoomSearchRow = z.infer<typeof RoomSearchRow>;

export const RosterEntry = z.object({
  student_id: z.string(),
  name: z.string(),
  email: z.string(),
  enrolled_at: z.string(),
});
export type RosterEntry = z.infer<typeof RosterEntry>;

export const OccupancyReport = rpcCommand('inventory.reports.occupancy.v1', OccupancyCommand, z.array(OccupancyRow));
export const RoomSearchReport = rpcCommand('inventory.reports.room-search.v1', RoomSearchCommand, z.array(RoomSearchRow));
export const SectionRosterReport = rpcCommand('enrollment.reports.section-roster.v1', SectionRosterCommand, z.array(RosterEntry));
