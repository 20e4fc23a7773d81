import { setTimeout as sleep } from 'node:timers/promises';
import type { OnboardingConfig } from '@cupo/contracts';
import {
  ProviderThrottledError,
  ProviderUnavailableError,
  type OnboardingMetrics,
  type ProviderCall,
  type ProviderName,
  type RateLimiter,
} from './ports.js';

const LIMIT: Record<ProviderName, 'rate_limit_directory_per_min' | 'rate_limit_lms_per_min' | 'rate_limit_email_per_min'> = {
  directory: 'rate_limit_directory_per_min',
  lms: 'rate_limit_lms_per_min',
  email: 'rate_limit_email_per_min',
};

/**
 * Every request to a provider goes through here: it waits for its slot under the
 * provider's limit (shared by all replicas), honours a 429's Retry-After (and takes a new
 * slot after it), and retries a provider that is briefly away with exponential backoff and
 * jitter. A definitive refusal (ProviderRejectedError, or any other error) is not retried.
 *
 * Every wait ends early when `signal` aborts (the run is handing its work back): no request
 * starts after that, and the one in flight, if any, is left to finish.
 */
export function providerCall(
  provider: ProviderName,
  deps: {
    limiter: RateLimiter;
    metrics: OnboardingMetrics;
    config: OnboardingConfig;
    signal: AbortSignal;
    maxThrottles?: number;
    maxRetries?: number;
  },
): ProviderCall {
  const wait = (ms: number) => sleep(ms, undefined, { signal: deps.signal });
  return async (_operation, request) => {
    let throttles = 0;
    let failures = 0;
    for (;;) {
      deps.signal.throwIfAborted();
      const slot = await deps.limiter.reserve(provider, deps.config[LIMIT[provider]]);
      deps.metrics.limiterWait(provider, slot);
      if (slot > 0) await wait(slot);
      deps.signal.throwIfAborted();
      try {
        const result = await request();
        deps.metrics.providerCall(provider, 'ok');
        return result;
      } catch (error) {
        if (error instanceof ProviderThrottledError && throttles < (deps.maxThrottles ?? 20)) {
          throttles += 1;
          deps.metrics.providerCall(provider, 'throttled');
          await wait(error.retryAfterSeconds * 1000);
          continue;
        }
        if (error instanceof ProviderUnavailableError && failures < (deps.maxRetries ?? 3)) {
          failures += 1;
          deps.metrics.providerCall(provider, 'unavailable');
          await wait(Math.random() * 200 * 2 ** failures);
          continue;
        }
        deps.metrics.providerCall(provider, error instanceof ProviderThrottledError ? 'throttled_gave_up' : 'failed');
        throw error;
      }
    }
  };
}
