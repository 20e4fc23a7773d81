import { describe, expect, it } from 'vitest';
import type { OnboardingConfig } from '@cupo/contracts';
import { InvalidScheduleError } from '../../domain/ingest-schedule.js';
import type { OnboardingStore } from './ports.js';
import { updateConfig } from './update-config.js';

const numbers = { batch_size: 20, rate_limit_directory_per_min: 10, rate_limit_lms_per_min: 30, rate_limit_email_per_min: 60 };

function store() {
  const saved: OnboardingConfig[] = [];
  return {
    saved,
    asPort: {
      async putConfig(config: OnboardingConfig) {
        saved.push(config);
        return { ...config, ingest_schedule: config.ingest_schedule ?? null };
      },
    } as unknown as OnboardingStore,
  };
}

describe('updateConfig', () => {
  it('saves settings with a schedule it can read, without one, or with it off', async () => {
    const s = store();
    const nightly = { cron: '0 2 * * *', time_zone: 'America/Argentina/Cordoba' };
    expect(await updateConfig(s.asPort, { ...numbers, ingest_schedule: nightly })).toEqual({ ...numbers, ingest_schedule: nightly });
    await updateConfig(s.asPort, numbers);
    await updateConfig(s.asPort, { ...numbers, ingest_schedule: null });
    expect(s.saved).toHaveLength(3);
  });

  it.each([
    [{ cron: '0 25 * * *', time_zone: 'UTC' }],
    [{ cron: 'at two', time_zone: 'UTC' }],
    [{ cron: '0 2 * * *', time_zone: 'Nowhere/Special' }],
  ])('refuses %j and saves nothing', async (schedule) => {
    const s = store();
    await expect(updateConfig(s.asPort, { ...numbers, ingest_schedule: schedule })).rejects.toBeInstanceOf(InvalidScheduleError);
    expect(s.saved).toEqual([]);
  });
});
