import express, { type Express, type NextFunction, type Request, type Response } from 'express';

/**
 * What every stand-in shares: configurable latency, failure rate and 429 storms, users that
 * always fail, and a record of every call (with its time) that tests read back at /_calls.
 * Set at start from the environment and changed at run time with POST /_config.
 */
export interface Behaviour {
  latencyMs: number;
  failureRate: number;
  /** Share of calls answered 429 with Retry-After. */
  rate429: number;
  retryAfterSeconds: number;
  /** Users (UPN, username or e-mail address) whose calls always fail with 500. */
  failFor: string[];
  /**
   * Operations (e.g. `users.create`) whose effect happens at once but whose answer is held
   * back this long: a reply lost to the caller's timeout, so its retry meets its own creation.
   */
  lateReplyMs: Record<string, number>;
}

export interface Call {
  at: number;
  op: string;
  subject?: string;
  status: number;
}

export function behaviourFromEnv(env = process.env): Behaviour {
  return {
    latencyMs: Number(env.LATENCY_MS ?? 0),
    failureRate: Number(env.FAILURE_RATE ?? 0),
    rate429: Number(env.RATE_429 ?? 0),
    retryAfterSeconds: Number(env.RETRY_AFTER_SECONDS ?? 1),
    failFor: (env.FAIL_FOR ?? '').split(',').filter(Boolean),
    lateReplyMs: JSON.parse(env.LATE_REPLY_MS ?? '{}') as Record<string, number>,
  };
}

export class Recorder {
  readonly calls: Call[] = [];
  constructor(public behaviour: Behaviour) {}

  /** Decides a call's fate: undefined to serve it, or the status to answer instead. */
  async gate(op: string, subject?: string): Promise<{ status: number; retryAfter?: number } | undefined> {
    return (await this.admit(op, subject)).refusal;
  }

  /** As gate, with the recorded call, whose status a handler corrects when it refuses the call itself. */
  async admit(op: string, subject?: string): Promise<{ refusal?: { status: number; retryAfter?: number }; call: Call }> {
    if (this.behaviour.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.behaviour.latencyMs));
    let refusal: { status: number; retryAfter?: number } | undefined;
    if (Math.random() < this.behaviour.rate429) refusal = { status: 429, retryAfter: this.behaviour.retryAfterSeconds };
    else if (subject && this.behaviour.failFor.includes(subject)) refusal = { status: 500 };
    else if (Math.random() < this.behaviour.failureRate) refusal = { status: 503 };
    const call: Call = { at: Date.now(), op, subject, status: refusal?.status ?? 200 };
    this.calls.push(call);
    return refusal ? { refusal, call } : { call };
  }

  /** Holds the answer to an operation whose effect is done, if it is configured to reply late. */
  async lateReply(op: string): Promise<void> {
    const ms = this.behaviour.lateReplyMs[op] ?? 0;
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }

  mountAdmin(app: Express): void {
    app.get('/_calls', (_req, res) => void res.json(this.calls));
    app.delete('/_calls', (_req, res) => {
      this.calls.length = 0;
      res.status(204).end();
    });
    app.post('/_config', express.json(), (req, res) => {
      this.behaviour = { ...this.behaviour, ...(req.body as Partial<Behaviour>) };
      res.json(this.behaviour);
    });
    app.get('/healthz', (_req, res) => void res.send('ok'));
    app.get('/readyz', (_req, res) => void res.send('ok'));
  }
}

export function refuse(res: Response, verdict: { status: number; retryAfter?: number }, body: unknown): void {
  if (verdict.retryAfter !== undefined) res.set('Retry-After', String(verdict.retryAfter));
  res.status(verdict.status).json(body);
}

/**
 * The address the stand-ins listen on: loopback (the test stack, `make run`), or STAND_IN_HOST — the
 * image sets 0.0.0.0, as in a container loopback is the container's own and compose's worker
 * reaches `graph:9500` over the network.
 */
export const listenHost = (env = process.env): string => env.STAND_IN_HOST?.trim() || '127.0.0.1';

export function listen(app: Express, port: number, name: string): void {
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: String(error) });
  });
  const host = listenHost();
  const server = app.listen(port, host, () => console.log(JSON.stringify({ msg: `${name} stand-in listening`, host, port })));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => server.close(() => process.exit(0)));
  if (process.channel) {
    process.channel.unref();
    process.once('disconnect', () => process.exit(0));
  }
}
