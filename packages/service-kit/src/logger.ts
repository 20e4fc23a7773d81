import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * One JSON line per event, with the service and replica in every line so logs from several
 * replicas can be told apart once they are merged.
 *
 * Written asynchronously: a synchronous write per line cost the services close to half
 * their CPU under load. Lines that queue while a write is in flight go out together, and
 * pino flushes what is left when the process exits (a SIGKILL can lose the last few).
 */
export function createLogger(options: { service: string; level: string }): Logger {
  return pino(
    {
    level: options.level,
    base: { service: options.service, replica: `${hostname()}:${process.pid}` },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: pino.stdSerializers.err },
    },
    pino.destination({ dest: 1, sync: false }),
  );
}
