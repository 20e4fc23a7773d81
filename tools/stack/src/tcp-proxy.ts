import { createServer, connect, type Server, type Socket } from 'node:net';

/** What the proxy does to a connection whose client sent a chunk containing a pattern. */
export type ClientDataFault =
  /** Reset both sides (RST to the client), as a crashing server or a dropped NAT entry does. */
  | { action: 'reset' }
  /** Answer the client with these bytes instead of forwarding, then close (e.g. a protocol error). */
  | { action: 'respond'; bytes: Buffer };

/**
 * A TCP proxy placed between a service and one of its dependencies, for fault injection
 * without touching the shared server: add latency to every chunk, cut every open
 * connection, refuse new ones for a while, or break a connection at the moment its client
 * sends a given message.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private latencyMs = 0;
  private refusing = false;
  private fault: { pattern: Buffer; remaining: number; then: ClientDataFault } | undefined;
  /** How many times the armed fault has struck. */
  faultsInjected = 0;
  port = 0;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly listenPort = 0,
  ) {}

  async start(): Promise<this> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(this.listenPort, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  /** The URL `url` would be if it went through this proxy. */
  rewrite(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Destroys every open connection (both sides), as a network partition would. */
  cutAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /** While refusing, new connections are closed at once and open ones are cut. */
  refuse(on: boolean): void {
    this.refusing = on;
    if (on) this.cutAll();
  }

  /**
   * Breaks the next `times` connections whose client sends a chunk containing `pattern`
   * (the chunk is not forwarded). `times` 0 disarms.
   */
  failOnClientData(pattern: string | Buffer, times: number, then: ClientDataFault = { action: 'reset' }): void {
    this.fault = times > 0 ? { pattern: Buffer.from(pattern), remaining: times, then } : undefined;
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Applies the armed fault if this client chunk matches it; true if the chunk was swallowed. */
  private strike(chunk: Buffer, client: Socket, upstream: Socket): boolean {
    const fault = this.fault;
    if (!fault || fault.remaining <= 0 || !chunk.includes(fault.pattern)) return false;
    fault.remaining -= 1;
    this.faultsInjected += 1;
    upstream.destroy();
    if (fault.then.action === 'reset') client.resetAndDestroy();
    else client.end(fault.then.bytes);
    return true;
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(this.target);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk) => {
        if (from === client && this.strike(chunk, client, upstream)) return;
        if (this.latencyMs === 0) to.write(chunk);
        else setTimeout(() => to.writable && to.write(chunk), this.latencyMs);
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }
}
