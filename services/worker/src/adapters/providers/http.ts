import { ProviderRejectedError, ProviderThrottledError, ProviderUnavailableError } from '../../app/onboarding/ports.js';

/**
 * The provider as a whole is away: it cannot be reached, did not answer in time, or said so
 * (502, 503, 504). What its breaker counts. A plain 500 is retried too, but it may be this one
 * request that breaks the server (one student's record), so it does not open the breaker.
 */
export class ProviderAwayError extends ProviderUnavailableError {}

const AWAY_STATUSES = new Set([502, 503, 504]);

/** One HTTP exchange with a provider, its answer sorted into retry / slow down / give up. */
export async function exchange(url: string, init: RequestInit, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new ProviderAwayError(`${new URL(url).host}: ${(error as Error).message}`);
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  if (response.status === 429) throw new ProviderThrottledError(Number(response.headers.get('retry-after') ?? 1) || 1);
  if (AWAY_STATUSES.has(response.status)) throw new ProviderAwayError(`${new URL(url).host} answered ${response.status}`);
  if (response.status >= 500) throw new ProviderUnavailableError(`${new URL(url).host} answered ${response.status}`);
  return { status: response.status, body };
}

export { ProviderRejectedError };
