import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ServiceProcess {
  name: string;
  /** Port of its /healthz, /readyz and /metrics (its ops port). */
  port: number;
  /** The gateway's public API port. */
  httpPort?: number;
  logFile: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** What a process is started from: enough to start it again the same way. */
export interface ProcessSpec {
  name: string;
  entry: string;
  port: number;
  httpPort?: number;
  env: NodeJS.ProcessEnv;
  logDir: string;
}

export function startProcess(options: ProcessSpec): ServiceProcess {
  const logFile = join(options.logDir, `${options.name}.log`);
  const fd = openSync(logFile, 'a');
  // CUPO_NODE_ARGS adds Node flags to every service, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = (options.env.CUPO_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // The IPC channel is only a lifeline: when this launcher dies (killed, or a crashed bench),
  // the channel closes and the service shuts itself down instead of living on as an orphan.
  const child = spawn(process.execPath, ['--enable-source-maps', ...extra, options.entry], {
    env: options.env,
    stdio: ['ignore', fd, fd, 'ipc'],
  });
  child.channel?.unref();
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name: options.name,
    port: options.port,
    ...(options.httpPort === undefined ? {} : { httpPort: options.httpPort }),
    logFile,
    child,
    exited,
  };
}

/** Waits for `/readyz` to answer 200; fails early, with the log's tail, if the process dies. */
export async function waitReady(proc: ServiceProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let died = false;
  void proc.exited.then(() => (died = true));
  while (Date.now() < deadline) {
    if (died) throw new Error(`${proc.name} exited during start-up:\n${tail(proc.logFile)}`);
    try {
      const response = await fetch(`http://127.0.0.1:${proc.port}/readyz`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${proc.name} was not ready within ${timeoutMs} ms:\n${tail(proc.logFile)}`);
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves with the exit code. */
export async function stopProcess(proc: ServiceProcess, graceMs = 15_000): Promise<number | null> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.child.exitCode;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  const code = await proc.exited;
  clearTimeout(timer);
  return code;
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
