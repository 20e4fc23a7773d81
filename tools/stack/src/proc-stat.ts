import { readdirSync, readFileSync } from 'node:fs';

/**
 * What the benchmarks and the capacity runs read from Linux's /proc to charge CPU time to
 * each process. Ticks are USER_HZ (100 a second on Linux).
 */

/** A process's CPU ticks so far, user + system (0 once it is gone). */
export function cpuTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Every process whose command name is `name` (the shared servers: postgres, beam.smp, redis-server). */
export function pidsNamed(name: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
      } catch {
        // gone meanwhile
        return false;
      }
    });
}
