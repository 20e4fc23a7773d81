import type { OnboardingConfig } from '@cupo/contracts';
import { checkSchedule } from '../../domain/ingest-schedule.js';
import type { OnboardingStore } from './ports.js';

/** An admin's new settings: a schedule that cannot be read is refused and nothing changes. */
export async function updateConfig(store: OnboardingStore, config: OnboardingConfig): Promise<OnboardingConfig> {
  if (config.ingest_schedule) checkSchedule(config.ingest_schedule);
  return store.putConfig(config);
}
