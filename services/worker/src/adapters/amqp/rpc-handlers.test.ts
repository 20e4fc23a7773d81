import { describe, expect, it } from 'vitest';
import {
  GetOnboardingConfig,
  GetOnboardingConfigV1,
  OnboardingConfig,
  OnboardingConfigV1,
  PutOnboardingConfigV1,
  type RpcCommand,
} from '@cupo/contracts';
import type { OnboardingStore } from '../../app/onboarding/ports.js';
import type { QueryStore } from '../../app/queries/ports.js';
import { rpcHandlers } from './rpc-handlers.js';

/** The settings as the database holds them, schedule on. */
function configStore() {
  let config: OnboardingConfig = {
    batch_size: 20,
    rate_limit_directory_per_min: 10,
    rate_limit_lms_per_min: 30,
    rate_limit_email_per_min: 60,
    ingest_schedule: { cron: '0 2 * * *', time_zone: 'UTC' },
  };
  return {
    async getConfig() {
      return config;
    },
    async putConfig(next: OnboardingConfig) {
      config = { ...next, ingest_schedule: next.ingest_schedule === undefined ? config.ingest_schedule : next.ingest_schedule };
      return config;
    },
  };
}

function handlers() {
  const list = rpcHandlers({
    store: {} as QueryStore,
    onboarding: configStore() as unknown as OnboardingStore,
    outboxWritten: () => undefined,
    queryDeadlineMs: 1_000,
  });
  const context = { requestId: 'r' } as never;
  return async (command: RpcCommand, payload: unknown) => {
    const handler = list.find((h) => h.command.name === command.name);
    if (!handler) throw new Error(`no handler for ${command.name}`);
    return handler.handle(command.request.parse(payload) as never, context);
  };
}

describe('the onboarding config over RPC', () => {
  it('answers the current gateway with the schedule', async () => {
    const call = handlers();
    expect(OnboardingConfig.parse(await call(GetOnboardingConfig, {})).ingest_schedule).toEqual({ cron: '0 2 * * *', time_zone: 'UTC' });
  });

  it('still answers the previous version’s gateway (v1) in the shape its strict schema reads, keeping the schedule', async () => {
    const call = handlers();
    const read = await call(GetOnboardingConfigV1, {});
    expect(OnboardingConfigV1.strict().safeParse(read).success).toBe(true);
    const written = await call(PutOnboardingConfigV1, {
      batch_size: 5,
      rate_limit_directory_per_min: 1,
      rate_limit_lms_per_min: 2,
      rate_limit_email_per_min: 3,
    });
    expect(written).toEqual({ batch_size: 5, rate_limit_directory_per_min: 1, rate_limit_lms_per_min: 2, rate_limit_email_per_min: 3 });
    expect((await call(GetOnboardingConfig, {})) as OnboardingConfig).toMatchObject({
      batch_size: 5,
      ingest_schedule: { cron: '0 2 * * *' },
    });
  });
});
