import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { Channel } from 'amqplib';
import type { Logger } from 'pino';

export interface SupervisedChannelOptions {
  /** Shown in logs and in the readiness answer. */
  name: string;
  /** A confirm channel: publishes resolve once the broker has taken the message. */
  confirm: boolean;
  /** A publish waiting longer than this (no channel, or no confirm) fails. */
  publishTimeoutMs?: number;
  /** Declares what the channel uses and starts its consumers; re-run on every new channel. */
  setup: (channel: Channel) => Promise<void>;
  logger: Logger;
  /** Pause before re-opening a channel the broker closed, and between failed set-ups. */
  reopenDelayMs?: number;
}

/** Every supervised channel of a connection, for its readiness check. */
const channelsOf = new WeakMap<AmqpConnectionManager, Set<SupervisedChannel>>();

/**
 * A channel that comes back whenever its connection is up. amqp-connection-manager re-opens
 * channels only after it has lost the whole connection: a channel the broker closes on its
 * own (PRECONDITION_FAILED from an unknown delivery tag or a redeclared queue, a consumer
 * timeout, a publish to a missing exchange) stays closed, and its consumers with it, while
 * the connection looks healthy (jwalton/node-amqp-connection-manager#347). This one notices,
 * waits a moment and opens a new channel, re-running the setup; a set-up that fails (the
 * queue is declared differently) is retried until it succeeds. Until then `isAttached()` is
 * false, and so is the connection's readiness.
 */
export class SupervisedChannel {
  private wrapper: ChannelWrapper;
  /** The channel whose setup last completed, while it stays open. */
  private live: Channel | undefined;
  private settingUp = 0;
  private closing = false;
  private reopenTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: AmqpConnectionManager,
    private readonly options: SupervisedChannelOptions,
  ) {
    this.wrapper = this.open();
    let channels = channelsOf.get(connection);
    if (!channels) channelsOf.set(connection, (channels = new Set()));
    channels.add(this);
  }

  get name(): string {
    return this.options.name;
  }

  /** The wrapper to publish on; replaced when the channel is re-opened. */
  get current(): ChannelWrapper {
    return this.wrapper;
  }

  /** Set up and open: consumers are consuming, publishes can go out. */
  isAttached(): boolean {
    return !this.closing && this.live !== undefined;
  }

  /**
   * Resolves once a channel has been set up (the first time, or after a re-open). Polled: a
   * wrapper that is replaced after a failed set-up never announces a connection of its own.
   */
  async waitForConnect(): Promise<void> {
    while (!this.isAttached()) {
      if (this.closing) throw new Error(`channel ${this.options.name} closed`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * Gives up the channel a consumer can no longer use (the broker cancelled its consumer, e.g.
   * the queue was deleted): it is closed and opened again, which re-declares and re-consumes.
   */
  detach(channel: Channel, reason: string): void {
    if (channel !== this.live) return;
    this.options.logger.warn({ channel: this.options.name, reason }, 'amqp channel detached; re-opening it');
    this.live = undefined;
    channel.close().catch(() => undefined);
    this.scheduleReopen();
  }

  /** Closes the channel for good (shutdown); unsent publishes are rejected. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.reopenTimer);
    channelsOf.get(this.connection)?.delete(this);
    this.live = undefined;
    await this.wrapper.close().catch(() => undefined);
  }

  private open(): ChannelWrapper {
    const wrapper: ChannelWrapper = this.connection.createChannel({
      name: this.options.name,
      confirm: this.options.confirm,
      json: false,
      ...(this.options.publishTimeoutMs === undefined ? {} : { publishTimeout: this.options.publishTimeoutMs }),
      setup: async (channel: Channel) => {
        if (this.closing || wrapper !== this.wrapper) {
          // A wrapper we replaced finished connecting late: its channel must not consume.
          await channel.close().catch(() => undefined);
          return;
        }
        this.settingUp += 1;
        try {
          // A channel error (the broker closing this channel) must stay this channel's problem:
          // unheard, amqplib escalates it and the whole connection goes down with it.
          channel.on('error', (error: unknown) =>
            this.options.logger.warn({ err: error, channel: this.options.name }, 'amqp channel closed by the broker'),
          );
          channel.once('close', () => this.onChannelClosed(channel));
          await this.options.setup(channel);
          this.live = channel;
        } finally {
          this.settingUp -= 1;
        }
      },
    });
    // Without a listener, a failed set-up would be thrown from an EventEmitter and end the process.
    wrapper.on('error', (error: unknown) => {
      if (wrapper !== this.wrapper || this.closing) return;
      this.options.logger.warn({ err: error, channel: this.options.name }, 'amqp channel set-up failed; retrying');
      this.scheduleReopen();
    });
    return wrapper;
  }

  private onChannelClosed(channel: Channel): void {
    if (this.live === channel) this.live = undefined;
    if (this.closing) return;
    this.scheduleReopen();
  }

  /**
   * After a pause, re-opens the channel unless it is back already. While the connection is
   * down there is nothing to do: amqp-connection-manager re-runs the setup when it returns.
   */
  private scheduleReopen(): void {
    if (this.reopenTimer || this.closing) return;
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      if (this.closing || this.live) return;
      if (!this.connection.isConnected()) return;
      if (this.settingUp > 0) {
        this.scheduleReopen();
        return;
      }
      this.options.logger.warn({ channel: this.options.name }, 'amqp channel not attached; opening a new one');
      const old = this.wrapper;
      this.wrapper = this.open();
      old.close().catch(() => undefined);
      // Checked again later: if this set-up fails too, the error listener schedules another.
    }, this.options.reopenDelayMs ?? 1_000);
    this.reopenTimer.unref();
  }
}

/** The supervised channels of `connection` that are not attached right now. */
export function detachedChannels(connection: AmqpConnectionManager): string[] {
  return [...(channelsOf.get(connection) ?? [])].filter((c) => !c.isAttached()).map((c) => c.name);
}
