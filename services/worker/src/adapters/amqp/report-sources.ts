import { RpcTimeoutError, type RpcClient } from '@cupo/amqp';
import { OccupancyReport, RoomSearchReport, SectionRosterReport, type QueryRequestBody } from '@cupo/contracts';
import { DependencyUnavailableError } from '@cupo/errors';
import type { ReportSources } from '../../app/queries/ports.js';

/**
 * Reports read data the worker does not own by asking its owners (inventory, enrollment) over
 * RPC: always current, and no second copy of their data to keep in step. The price is that a
 * report needs its owner up; the consumer retries until it is.
 */
export class RpcReportSources implements ReportSources {
  constructor(private readonly rpc: RpcClient) {}

  async compute(query: QueryRequestBody, options: { requestId: string; timeoutMs: number }): Promise<unknown> {
    try {
      return await this.ask(query, options);
    } catch (error) {
      // An owner that does not answer in time is an outage, not a fault of the query: the
      // consumer then retries without using up the query's attempts.
      if (error instanceof RpcTimeoutError) throw new DependencyUnavailableError(`${query.type} source`, error);
      throw error;
    }
  }

  private async ask(query: QueryRequestBody, options: { requestId: string; timeoutMs: number }): Promise<unknown> {
    switch (query.type) {
      case 'occupancy_report': {
        const rooms = await this.rpc.call(OccupancyReport, query.params, options);
        const roomNights = rooms.reduce((sum, r) => sum + r.room_nights, 0);
        const sold = rooms.reduce((sum, r) => sum + r.sold, 0);
        return {
          from: query.params.from,
          to: query.params.to,
          room_nights: roomNights,
          sold,
          occupancy: roomNights ? Number((sold / roomNights).toFixed(4)) : 0,
          rooms,
        };
      }
      case 'room_search':
        return { ...query.params, rooms: await this.rpc.call(RoomSearchReport, query.params, options) };
      case 'section_roster': {
        const students = await this.rpc.call(SectionRosterReport, query.params, options);
        return { section: query.params.section, count: students.length, students };
      }
    }
  }
}
