import type { OnboardingConfig } from '@cupo/contracts';
import {
  ProviderThrottledError,
  ProviderUnavailableError,
  type OnboardingMetrics,
  type ProviderCall,
  type ProviderName,
  type RateLimiter,
} from './ports.js';

const LIMIT: Record<ProviderName, keyof OnboardingConfig> = {
  directory: 'rate_limit_directory_per_min',
  lms: 'rate_limit_lms_per_min',
  email: 'rate_limit_email_per_min',
};

/**
 * Every request to a provider goes through here: it waits for its slot under the
 * provider's limit (shared by all replicas), honours a 429's Retry-After (and takes a new
 * slot after it), and retries a provider that is briefly away with exponential backoff and
 * jitter. A definitive refusal (ProviderRejectedError, or any other error) is not retried.
 */
export function providerCall(
  provider: ProviderName,
  deps: { limiter: RateLimiter; metrics: OnboardingMetrics; config: OnboardingConfig; maxThrottles?: number; maxRetries?: number },
): ProviderCall {
  return async (_operation, request) => {
    let throttles = 0;
    let failures = 0;
    for (;;) {
      deps.metrics.limiterWait(provider, await deps.limiter.acquire(provider, deps.config[LIMIT[provider]]));
      try {
        const result = await request();
        deps.metrics.providerCall(provider, 'ok');
        return result;
      } catch (error) {
        if (error instanceof ProviderThrottledError && throttles < (deps.maxThrottles ?? 20)) {
          throttles += 1;
          deps.metrics.providerCall(provider, 'throttled');
          await new Promise((resolve) => setTimeout(resolve, error.retryAfterSeconds * 1000));
          continue;
        }
        if (error instanceof ProviderUnavailableError && failures < (deps.maxRetries ?? 3)) {
          failures += 1;
          deps.metrics.providerCall(provider, 'unavailable');
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 200 * 2 ** failures));
          continue;
        }
        deps.metrics.providerCall(provider, error instanceof ProviderThrottledError ? 'throttled_gave_up' : 'failed');
        throw error;
      }
    }
  };
}
