import { hostname } from 'node:os';
import { pino, type DestinationStream, type Logger } from 'pino';
import { traceFields } from './telemetry.js';

export type { Logger } from 'pino';

/**
 * One JSON line per event, with the service and replica in every line so logs from several
 * replicas can be told apart once they are merged.
 *
 * Written asynchronously: a synchronous write per line cost the services close to half
 * their CPU under load. Lines that queue while a write is in flight go out together, and
 * pino flushes what is left when the process exits (a SIGKILL can lose the last few).
 * A line logged inside a trace's span carries `trace_id` and `span_id`.
 */
export function createLogger(options: { service: string; level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      // Inside a span, the line carries its trace_id and span_id (OpenTelemetry's log correlation).
      mixin: traceFields,
      base: { service: options.service, replica: `${hostname()}:${process.pid}` },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
