import { describe, expect, it } from 'vitest';
import type { IngestSchedule } from '@cupo/contracts';
import { silentLogger } from '../../testing/fakes.js';
import type { OnboardingStore, ScheduleState, Task } from './ports.js';
import { fireDueIngest } from './scheduled-ingest.js';

/**
 * The store's side of the schedule over plain values: the configured schedule, the database's
 * clock, and the slot table whose key lets one caller fire each slot.
 */
class ScheduleStore implements Pick<OnboardingStore, 'scheduleState' | 'fireScheduledIngest'> {
  schedule: IngestSchedule | null = null;
  since = new Date('2026-01-01T00:00:00Z');
  now = new Date('2026-03-10T12:00:00Z');
  readonly slots = new Map<number, string>();
  readonly tasks: Task[] = [];

  async scheduleState(): Promise<ScheduleState> {
    const fired = [...this.slots.keys()].filter((t) => t >= this.since.getTime());
    return { schedule: this.schedule, since: this.since, lastFired: fired.length ? new Date(Math.max(...fired)) : null, now: this.now };
  }

  async fireScheduledIngest(slot: Date, schedule: IngestSchedule, taskId: string, firedBy: string): Promise<Task | null> {
    await Promise.resolve(); // another caller may run in between, as another replica would
    const current = this.schedule;
    if (!current || current.cron !== schedule.cron || current.time_zone !== schedule.time_zone || this.since > slot) return null;
    if (this.slots.has(slot.getTime())) return null;
    this.slots.set(slot.getTime(), taskId);
    const task: Task = {
      id: taskId,
      type: 'ingest',
      status: 'pending',
      parent_id: null,
      student_id: null,
      entity_count: 0,
      details: { scheduled_for: slot.toISOString(), fired_by: firedBy },
      created_at: this.now.toISOString(),
      started_at: null,
      finished_at: null,
      stuck: false,
      scheduled: true,
    };
    this.tasks.push(task);
    return task;
  }
}

const replica = (store: ScheduleStore, name: string) => async () =>
  (await fireDueIngest({ store: store as unknown as OnboardingStore, logger: silentLogger, replicaId: name, catchUpMs: 10_000 }))[0] ??
  null;

describe('fireDueIngest', () => {
  it('does nothing while the schedule is off', async () => {
    const store = new ScheduleStore();
    expect(await replica(store, 'a')()).toBeNull();
    expect(store.tasks).toEqual([]);
  });

  it('fires the latest due slot once, however many replicas look at once', async () => {
    const store = new ScheduleStore();
    store.schedule = { cron: '0 2 * * *', time_zone: 'UTC' };
    const looks = ['a', 'b', 'c', 'd'].flatMap((name) => [replica(store, name)(), replica(store, name)()]);
    const fired = (await Promise.all(looks)).filter((t) => t !== null);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({ type: 'ingest', scheduled: true, details: { scheduled_for: '2026-03-10T02:00:00.000Z' } });
    // Looking again in the same slot fires nothing more.
    expect(await replica(store, 'a')()).toBeNull();
    // The next slot fires once.
    store.now = new Date('2026-03-11T02:00:00.400Z');
    const next = (await Promise.all([replica(store, 'a')(), replica(store, 'b')()])).filter((t) => t !== null);
    expect(next.map((t) => t.details.scheduled_for)).toEqual(['2026-03-11T02:00:00.000Z']);
    expect(store.tasks).toHaveLength(2);
  });

  it('does not fire a slot from before the schedule was set', async () => {
    const store = new ScheduleStore();
    store.schedule = { cron: '0 2 * * *', time_zone: 'UTC' };
    store.since = new Date('2026-03-10T11:59:00Z');
    expect(await replica(store, 'a')()).toBeNull();
  });

  it('after days with nothing running, fires only the latest missed slot', async () => {
    const store = new ScheduleStore();
    store.schedule = { cron: '0 2 * * *', time_zone: 'UTC' };
    store.since = new Date('2026-03-01T00:00:00Z');
    store.now = new Date('2026-03-09T23:00:00Z');
    await replica(store, 'a')();
    store.now = new Date('2026-03-20T09:00:00Z'); // down from the 10th to the 20th
    await replica(store, 'a')();
    await replica(store, 'b')();
    expect(store.tasks.map((t) => t.details.scheduled_for)).toEqual(['2026-03-09T02:00:00.000Z', '2026-03-20T02:00:00.000Z']);
  });

  it('catches up each slot a late look missed, when the last one fired was moments ago', async () => {
    const store = new ScheduleStore();
    store.schedule = { cron: '* * * * * *', time_zone: 'UTC' };
    store.now = new Date('2026-03-10T12:00:00.100Z');
    await replica(store, 'a')();
    store.now = new Date('2026-03-10T12:00:03.050Z'); // the next look came 3 s late
    const fired = await fireDueIngest({
      store: store as unknown as OnboardingStore,
      logger: silentLogger,
      replicaId: 'b',
      catchUpMs: 10_000,
    });
    expect(fired.map((t) => t.details.scheduled_for)).toEqual([
      '2026-03-10T12:00:01.000Z',
      '2026-03-10T12:00:02.000Z',
      '2026-03-10T12:00:03.000Z',
    ]);
    // Down for a minute: only the latest.
    store.now = new Date('2026-03-10T12:01:03.500Z');
    await replica(store, 'a')();
    expect(store.tasks.at(-1)!.details.scheduled_for).toBe('2026-03-10T12:01:03.000Z');
    expect(store.tasks).toHaveLength(5);
  });

  it('fires nothing of a schedule replaced while it was looking', async () => {
    const store = new ScheduleStore();
    store.schedule = { cron: '0 2 * * *', time_zone: 'UTC' };
    const looking = replica(store, 'a')();
    store.schedule = null; // an admin turned it off in between
    expect(await looking).toBeNull();
    expect(store.tasks).toEqual([]);
  });
});
