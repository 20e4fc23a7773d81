import { z } from 'zod';
import { Actor } from './actor.js';
import { IsoDate, daysBetween } from './dates.js';
import { SectionCode } from './enrollments.js';

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
  error: z.object({ code: z.string().max(64), detail: z.string().max(1_000) }).optional(),
  created_at: z.iso.datetime({ offset: true }),
  processed_at: z.iso.datetime({ offset: true }).optional(),
});
export type QueryView = z.infer<typeof QueryView>;

// --- RPC served by worker -----------------------------------------------------------------

export const WorkerCommands = {
  submitQuery: 'worker.queries.submit.v1',
  getQuery: 'worker.queries.get.v1',
} as const;

export const WorkerJobs = {
  exchange: 'cupo.jobs',
  queryRequested: 'worker.query-requested.v1',
  queryQueue: 'worker.queries',
} as const;

export const SubmitQueryCommand = z.object({ query: QueryRequestBody, actor: Actor });
export const GetQueryCommand = z.object({ query_id: z.uuid(), actor: Actor });
export const QueryRequestedMessage = z.object({ query_id: z.uuid() });

// --- What the owners answer for reports ---------------------------------------------------

export const ReportCommands = {
  occupancy: 'inventory.reports.occupancy.v1',
  roomSearch: 'inventory.reports.room-search.v1',
  sectionRoster: 'enrollment.reports.section-roster.v1',
} as const;

export const OccupancyCommand = z.object({ from: IsoDate, to: IsoDate });
export const RoomSearchCommand = z.object({ from: IsoDate, to: IsoDate, min_available: z.number().int().min(1).max(10_000) });
export const SectionRosterCommand = z.object({ section: SectionCode });

export interface OccupancyRow {
  room_id: number;
  name: string;
  type: string;
  room_nights: number;
  sold: number;
  occupancy: number;
}
export interface RoomSearchRow {
  room_id: number;
  name: string;
  type: string;
  min_available: number;
}
export interface RosterEntry {
  student_id: string;
  name: string;
  email: string;
  enrolled_at: string;
}
