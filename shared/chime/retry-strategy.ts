import { INITIAL_RETRY_TOKENS, NO_RETRY_INCREMENT, RETRY_COST, TIMEOUT_RETRY_COST } from '@smithy/core/retry';
import type { RetryErrorInfo, RetryStrategyV2, StandardRetryToken } from '@smithy/types';
import { backoff } from '../backoff';

export const BACKOFF_BASE_MS = 100;
export const BACKOFF_CAP_MS = 5_000;
export const THROTTLE_JITTER_MS = 50;
/**
 * A call whose failures are throttles may make this many times `maxAttempts` attempts. Each of them waits
 * for the limiter's tokens (which a real overload slows down), so they cost nothing the limiter does not
 * already pace, while giving up hands the message back to its queue: a retry delay of seconds, a receive
 * and an invocation. Measured under 20% random 429s and 5% 503s, the 0.1% of records that failed 5 attempts
 * came back seconds after the rest and set the end of a 20,000-request pass.
 */
export const THROTTLED_ATTEMPTS_FACTOR = 2;

/**
 * Full-jitter exponential backoff: a uniform delay in [0, min(cap, base * 2^(retry-1))). `retry` is 1 for
 * the first retry.
 */
export function backoffDelayMs(retry: number, random: () => number = Math.random): number {
  return Math.floor(backoff(retry, { base: BACKOFF_BASE_MS, cap: BACKOFF_CAP_MS }, random));
}

/**
 * The delay before retrying an attempt that failed with `errorType`. `serverErrorRetry` counts the retries
 * for 5xx and network errors only, this one included (1 for the first): throttles before them do not make
 * them wait longer, the limiter has already paced those.
 */
export function retryDelayMs(
  errorType: RetryErrorInfo['errorType'],
  serverErrorRetry: number,
  random: () => number = Math.random,
): number {
  return errorType === 'THROTTLING'
    ? Math.floor(random() * THROTTLE_JITTER_MS)
    : backoffDelayMs(serverErrorRetry, random);
}

export class ChimeRetryToken implements StandardRetryToken {
  readonly $retryLog = { acquisitionDelay: 0 };

  constructor(
    private readonly retries: number,
    private readonly delayMs: number,
    /** Retry quota this call has taken so far; given back when it succeeds. */
    readonly quotaTaken: number,
    /** Retries of this call for 5xx and network errors: their backoff grows with these alone. */
    readonly serverErrorRetries: number,
  ) {}

  getRetryCount(): number {
    return this.retries;
  }

  /** The SDK's retry middleware sleeps this long before the next attempt. */
  getRetryDelay(): number {
    return this.delayMs;
  }

  getRetryCost(): number | undefined {
    return this.quotaTaken === 0 ? undefined : this.quotaTaken;
  }
}

/**
 * The Chime client's retry strategy. Every attempt, retries included, first takes tokens from the adaptive
 * rate limiter (client.ts), and that decides how a retry waits:
 *
 * - A throttle (429) has just told the limiter, which slows the buckets down if the throttle is ours (see
 *   adaptive-rate.ts), and the retry then waits in the limiter's queue like any call. Its own delay only
 *   needs to de-synchronise retries answered together: a uniform jitter under THROTTLE_JITTER_MS. An
 *   exponential backoff on top would pace twice; measured under 20% random 429s (onboarding, batches of 100
 *   records), it was what the slowest record of a batch spent most of its time on (four retries: up to
 *   100 + 200 + 400 + 800 ms), and the batch's invocation waits for its slowest record. Throttles do not
 *   spend the retry quota either: they cannot raise the request rate, and draining the quota on them turned
 *   a limiter that was still converging into failed calls (a limiter set 4x above the real quota exhausted
 *   it within ~100 throttles).
 * - A 5xx, a timeout or a network error says nothing about our rate, and the limiter does not slow down
 *   for it: these keep full-jitter exponential backoff (base 100 ms, cap 5 s; AWS Architecture Blog,
 *   "Exponential Backoff And Jitter") and spend the SDK's retry quota (500 tokens, 5 per retry, 10 per
 *   timeout, given back when the call succeeds), so a real outage stops retries instead of piling them on.
 *   The exponent counts this call's 5xx and network errors only: a first 503 after two throttles waits
 *   like a first retry (under 100 ms), not like a third (under 400 ms). Measured (onboarding under 20%
 *   429s and 5% 503s), such 5xx backoffs were then the largest part of the slowest record's time.
 * - Anything else (4xx) is not retried, as in the SDK's standard strategy.
 */
export class ChimeRetryStrategy implements RetryStrategyV2 {
  readonly mode = 'standard';
  private quota = INITIAL_RETRY_TOKENS;

  constructor(
    private readonly maxAttempts: number,
    private readonly random: () => number = Math.random,
  ) {
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
      throw new RangeError('maxAttempts must be an integer >= 1');
  }

  async acquireInitialRetryToken(): Promise<ChimeRetryToken> {
    return new ChimeRetryToken(0, 0, 0, 0);
  }

  /** Throws (the SDK then rethrows the call's last error) when the call may not be retried. */
  async refreshRetryTokenForRetry(
    token: ChimeRetryToken,
    errorInfo: RetryErrorInfo,
  ): Promise<ChimeRetryToken> {
    const { errorType } = errorInfo;
    const retry = token.getRetryCount() + 1;
    if (errorType !== 'THROTTLING' && errorType !== 'TRANSIENT') throw new Error('not retryable');
    // 5xx and network errors: `maxAttempts` of them at most; throttles before them do not use these up.
    const limit = this.maxAttempts * THROTTLED_ATTEMPTS_FACTOR;
    if (retry >= limit) throw new Error(`no attempts left (${limit})`);
    if (errorType === 'TRANSIENT' && token.serverErrorRetries + 1 >= this.maxAttempts) {
      throw new Error(`no attempts left for server errors (${this.maxAttempts})`);
    }
    let cost = 0;
    if (errorType === 'TRANSIENT') {
      cost = errorInfo.error?.name === 'TimeoutError' ? TIMEOUT_RETRY_COST : RETRY_COST;
      if (this.quota < cost) throw new Error('the retry quota is exhausted');
      this.quota -= cost;
    }
    const taken = (token.getRetryCost() ?? 0) + cost;
    const serverErrorRetries = token.serverErrorRetries + (errorType === 'TRANSIENT' ? 1 : 0);
    const delayMs = retryDelayMs(errorType, serverErrorRetries, this.random);
    return new ChimeRetryToken(retry, delayMs, taken, serverErrorRetries);
  }

  recordSuccess(token: StandardRetryToken): void {
    this.quota = Math.min(INITIAL_RETRY_TOKENS, this.quota + (token.getRetryCost() ?? NO_RETRY_INCREMENT));
  }

  /** What is left of the retry quota (tests, diagnostics). */
  retryQuota(): number {
    return this.quota;
  }
}
