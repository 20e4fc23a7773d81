import { describe, expect, it, vi } from 'vitest';
import type { OnboardingConfig } from '@cupo/contracts';
import { providerCall } from './provider-call.js';
import {
  ProviderRejectedError,
  ProviderThrottledError,
  ProviderUnavailableError,
  type OnboardingMetrics,
  type ProviderName,
  type RateLimiter,
} from './ports.js';

const config: OnboardingConfig = {
  batch_size: 20,
  rate_limit_directory_per_min: 10,
  rate_limit_lms_per_min: 30,
  rate_limit_email_per_min: 60,
};

/** A limiter that hands out the waits it is given (0 once they run out), recording each reservation. */
function scriptedLimiter(...waits: number[]): RateLimiter & { reserved: [ProviderName, number][] } {
  const reserved: [ProviderName, number][] = [];
  return {
    reserved,
    async reserve(provider, perMinute) {
      reserved.push([provider, perMinute]);
      return waits.shift() ?? 0;
    },
  };
}

function recordingMetrics(): OnboardingMetrics & { calls: string[]; waits: number[] } {
  const calls: string[] = [];
  const waits: number[] = [];
  return {
    calls,
    waits,
    providerCall: (provider, outcome) => void calls.push(`${provider}:${outcome}`),
    limiterWait: (_provider, ms) => void waits.push(ms),
    workflow: () => undefined,
    batch: () => undefined,
  };
}

/** A request that fails as scripted, then answers `ok`. */
function scriptedRequest(...failures: Error[]) {
  let tries = 0;
  const request = async () => {
    tries += 1;
    const failure = failures.shift();
    if (failure) throw failure;
    return 'ok';
  };
  return { request, tries: () => tries };
}

describe('providerCall', () => {
  it('reserves a slot under the provider’s own limit before each request', async () => {
    const limiter = scriptedLimiter();
    const metrics = recordingMetrics();
    for (const provider of ['directory', 'lms', 'email'] as const) {
      const call = providerCall(provider, { limiter, metrics, config, signal: new AbortController().signal });
      expect(await call('op', async () => provider)).toBe(provider);
    }
    expect(limiter.reserved).toEqual([
      ['directory', 10],
      ['lms', 30],
      ['email', 60],
    ]);
    expect(metrics.calls).toEqual(['directory:ok', 'lms:ok', 'email:ok']);
  });

  // node:timers/promises is not faked by vi.useFakeTimers: these waits are real and short.
  it('waits for its slot before the request goes out', async () => {
    const metrics = recordingMetrics();
    let sentAt = 0;
    const call = providerCall('directory', { limiter: scriptedLimiter(150), metrics, config, signal: new AbortController().signal });
    const started = performance.now();
    expect(await call('op', async () => void (sentAt = performance.now()))).toBeUndefined();
    expect(sentAt - started).toBeGreaterThanOrEqual(140);
    expect(metrics.waits).toEqual([150]);
  });

  it('honours a 429’s Retry-After, then takes a new slot', async () => {
    const limiter = scriptedLimiter();
    const metrics = recordingMetrics();
    const sent: number[] = [];
    const failures = [new ProviderThrottledError(0.2)];
    const request = async () => {
      sent.push(performance.now());
      const failure = failures.shift();
      if (failure) throw failure;
      return 'ok';
    };
    expect(await providerCall('lms', { limiter, metrics, config, signal: new AbortController().signal })('op', request)).toBe('ok');
    expect(sent).toHaveLength(2);
    expect(sent[1]! - sent[0]!).toBeGreaterThanOrEqual(190);
    expect(limiter.reserved).toHaveLength(2);
    expect(metrics.calls).toEqual(['lms:throttled', 'lms:ok']);
  });

  it('gives up on throttling after maxThrottles', async () => {
    const metrics = recordingMetrics();
    const { request, tries } = scriptedRequest(new ProviderThrottledError(0), new ProviderThrottledError(0), new ProviderThrottledError(0));
    const call = providerCall('email', {
      limiter: scriptedLimiter(),
      metrics,
      config,
      signal: new AbortController().signal,
      maxThrottles: 2,
    });
    await expect(call('op', request)).rejects.toBeInstanceOf(ProviderThrottledError);
    expect(tries()).toBe(3);
    expect(metrics.calls).toEqual(['email:throttled', 'email:throttled', 'email:throttled_gave_up']);
  });

  it('retries a provider that is briefly away, with backoff, up to maxRetries', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0); // no backoff wait
    const metrics = recordingMetrics();
    const recovering = scriptedRequest(new ProviderUnavailableError('502'), new ProviderUnavailableError('503'));
    const call = providerCall('directory', {
      limiter: scriptedLimiter(),
      metrics,
      config,
      signal: new AbortController().signal,
      maxRetries: 2,
    });
    expect(await call('op', recovering.request)).toBe('ok');
    expect(recovering.tries()).toBe(3);
    const down = scriptedRequest(new ProviderUnavailableError('1'), new ProviderUnavailableError('2'), new ProviderUnavailableError('3'));
    await expect(call('op', down.request)).rejects.toThrow('3');
    expect(down.tries()).toBe(3);
    expect(metrics.calls.slice(-3)).toEqual(['directory:unavailable', 'directory:unavailable', 'directory:failed']);
    vi.restoreAllMocks();
  });

  it('never retries a definitive refusal or an unknown error', async () => {
    const metrics = recordingMetrics();
    const call = providerCall('lms', { limiter: scriptedLimiter(), metrics, config, signal: new AbortController().signal });
    const refused = scriptedRequest(new ProviderRejectedError('invalid user'));
    await expect(call('op', refused.request)).rejects.toBeInstanceOf(ProviderRejectedError);
    const bug = scriptedRequest(new TypeError('x is undefined'));
    await expect(call('op', bug.request)).rejects.toBeInstanceOf(TypeError);
    expect([refused.tries(), bug.tries()]).toEqual([1, 1]);
    expect(metrics.calls).toEqual(['lms:failed', 'lms:failed']);
  });

  it('sends nothing once the run is handing its work back, even mid-wait', async () => {
    const stop = new AbortController();
    const { request, tries } = scriptedRequest();
    const call = providerCall('directory', { limiter: scriptedLimiter(10_000), metrics: recordingMetrics(), config, signal: stop.signal });
    const answer = call('op', request);
    setTimeout(() => stop.abort(), 50);
    const started = performance.now();
    await expect(answer).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(tries()).toBe(0);
    await expect(call('op', request)).rejects.toThrow();
    expect(tries()).toBe(0);
  });
});
