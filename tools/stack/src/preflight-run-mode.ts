import { execFile } from 'node:child_process';

export type ComposeCheck = { ok: true; version: string } | { ok: false; why: string };

export type RunMode =
  | { mode: 'local' | 'compose'; line: string }
  /** Neither can run: what is missing and what to do, one line each. */
  | { mode: 'none'; lines: string[] };

/** Whether `docker compose` (the v2 plugin, not the old docker-compose) is there to use. */
export function composeVersion(docker = 'docker'): Promise<ComposeCheck> {
  return new Promise((resolve) => {
    execFile(docker, ['compose', 'version'], { timeout: 15_000 }, (error, stdout, stderr) => {
      if (!error) return resolve({ ok: true, version: stdout.trim().split('\n')[0] ?? '' });
      const why =
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'docker is not installed'
          : `\`docker compose version\` failed: ${(stderr.trim() || stdout.trim() || error.message).split('\n')[0]}`;
      resolve({ ok: false, why });
    });
  });
}

/**
 * How `make run` runs. The local servers when every one answers. Docker Compose only when none
 * does and `docker compose version` works: compose brings its own PostgreSQL, Redis and
 * RabbitMQ on the same ports, so with some local ones up it would collide with them, and it
 * would hide which local server is down. Otherwise nothing runs and the reasons are given.
 * `compose` is asked only when it could be used.
 */
export async function chooseRunMode(input: {
  servers: string[];
  /** One message per server that does not answer, saying how to start it. */
  unreachable: string[];
  compose: () => Promise<ComposeCheck>;
}): Promise<RunMode> {
  const { servers, unreachable } = input;
  if (unreachable.length === 0) {
    return { mode: 'local', line: `make run: local mode — ${list(servers)} all answer here` };
  }
  if (unreachable.length < servers.length) {
    const answering = servers.filter((name) => !unreachable.some((line) => line.startsWith(`${name} `)));
    return {
      mode: 'none',
      lines: [
        ...unreachable,
        `make run: not starting — ${list(answering)} ${answering.length === 1 ? 'answers' : 'answer'} here but not every server does; ` +
          'start the one(s) above (Docker Compose is no way out while some answer: its own servers would take the same ports)',
      ],
    };
  }
  const compose = await input.compose();
  if (compose.ok) {
    return {
      mode: 'compose',
      line: `make run: Docker Compose mode — no local server answers (${list(servers)}) and \`docker compose version\` works (${compose.version}): docker compose up --build`,
    };
  }
  return {
    mode: 'none',
    lines: [
      ...unreachable,
      `make run: not starting — no local server answers and Docker Compose cannot stand in (${compose.why}); start the servers above, or install Docker with its compose plugin`,
    ],
  };
}

const list = (names: string[]) => (names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`);
