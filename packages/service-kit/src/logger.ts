import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * One JSON line per event, with the service and replica in every line so logs from several
 * replicas can be told apart once they are merged.
 */
export function createLogger(options: { service: string; level: string }): Logger {
  return pino({
    level: options.level,
    base: { service: options.service, replica: `${hostname()}:${process.pid}` },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: pino.stdSerializers.err },
  });
}
