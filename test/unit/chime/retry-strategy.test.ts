import type { RetryErrorInfo, RetryErrorType } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import {
  BACKOFF_BASE_MS,
  ChimeRetryStrategy,
  retryDelayMs,
  THROTTLE_JITTER_MS,
} from '../../../shared/chime/retry-strategy';

const failure = (errorType: RetryErrorType, name = 'Error'): RetryErrorInfo => ({
  errorType,
  error: Object.assign(new Error('failed'), { name, $metadata: {} }) as NonNullable<RetryErrorInfo['error']>,
});

/** Retries a call `retries` times with the same failure; answers the last token. */
async function retry(strategy: ChimeRetryStrategy, info: RetryErrorInfo, retries: number) {
  let token = await strategy.acquireInitialRetryToken();
  for (let index = 0; index < retries; index++) token = await strategy.refreshRetryTokenForRetry(token, info);
  return token;
}

describe('retryDelayMs', () => {
  it.each([
    // A throttled retry waits for the limiter's tokens anyway: only a jitter, whatever the retry.
    { errorType: 'THROTTLING', retry: 1, random: 0.999_999, expected: THROTTLE_JITTER_MS - 1 },
    { errorType: 'THROTTLING', retry: 4, random: 0.999_999, expected: THROTTLE_JITTER_MS - 1 },
    { errorType: 'THROTTLING', retry: 4, random: 0.5, expected: THROTTLE_JITTER_MS / 2 },
    // 5xx and network errors: full jitter under an exponential ceiling.
    { errorType: 'TRANSIENT', retry: 1, random: 0.999_999, expected: BACKOFF_BASE_MS - 1 },
    { errorType: 'TRANSIENT', retry: 4, random: 0.999_999, expected: 8 * BACKOFF_BASE_MS - 1 },
    { errorType: 'TRANSIENT', retry: 3, random: 0.5, expected: 2 * BACKOFF_BASE_MS },
  ] as const)('$errorType retry $retry at random $random: $expected ms', ({
    errorType,
    retry,
    random,
    expected,
  }) => {
    expect(retryDelayMs(errorType, retry, () => random)).toBe(expected);
  });
});

describe('ChimeRetryStrategy', () => {
  it('retries a 5xx after six throttles (throttles do not use up the server-error attempts)', async () => {
    const strategy = new ChimeRetryStrategy(5, () => 0.5);
    const throttled = await retry(strategy, failure('THROTTLING'), 6);
    const token = await strategy.refreshRetryTokenForRetry(throttled, failure('TRANSIENT'));
    expect(token.getRetryCount()).toBe(7);
    expect(token.serverErrorRetries).toBe(1);
  });

  it.each([
    // Throttles get twice the attempts: the limiter paces each of them.
    {
      case: 'throttles',
      info: failure('THROTTLING'),
      retries: 9,
      maxDelay: THROTTLE_JITTER_MS,
      quotaSpent: 0,
    },
    { case: '5xx', info: failure('TRANSIENT'), retries: 4, maxDelay: 8 * BACKOFF_BASE_MS, quotaSpent: 4 * 5 },
    {
      case: 'timeouts',
      info: failure('TRANSIENT', 'TimeoutError'),
      retries: 4,
      maxDelay: 8 * BACKOFF_BASE_MS,
      quotaSpent: 4 * 10,
    },
  ])('retries $case $retries times, spending $quotaSpent of the retry quota', async ({
    info,
    retries,
    maxDelay,
    quotaSpent,
  }) => {
    const strategy = new ChimeRetryStrategy(5, () => 0.999_999);
    const token = await retry(strategy, info, retries);
    expect(token.getRetryCount()).toBe(retries);
    expect(token.getRetryDelay()).toBe(maxDelay - 1);
    expect(strategy.retryQuota()).toBe(500 - quotaSpent);
    await expect(strategy.refreshRetryTokenForRetry(token, info)).rejects.toThrow(/no attempts left/);
    // A call that got through in the end gives back what its retries took.
    strategy.recordSuccess(token);
    expect(strategy.retryQuota()).toBe(500);
  });

  it.each([
    {
      case: 'a first 5xx after three throttles',
      failures: ['THROTTLING', 'THROTTLING', 'THROTTLING', 'TRANSIENT'],
      maxDelay: BACKOFF_BASE_MS,
    },
    {
      case: 'a second 5xx after two throttles',
      failures: ['TRANSIENT', 'THROTTLING', 'THROTTLING', 'TRANSIENT'],
      maxDelay: 2 * BACKOFF_BASE_MS,
    },
    {
      case: 'a throttle after three 5xx',
      failures: ['TRANSIENT', 'TRANSIENT', 'TRANSIENT', 'THROTTLING'],
      maxDelay: THROTTLE_JITTER_MS,
    },
  ] as const)('backs off $case by 5xx retries only: under $maxDelay ms', async ({ failures, maxDelay }) => {
    const strategy = new ChimeRetryStrategy(5, () => 0.999_999);
    let token = await strategy.acquireInitialRetryToken();
    for (const errorType of failures)
      token = await strategy.refreshRetryTokenForRetry(token, failure(errorType));
    expect(token.getRetryDelay()).toBe(maxDelay - 1);
  });

  it.each([
    { errorType: 'CLIENT_ERROR' },
    { errorType: 'SERVER_ERROR' },
  ] as const)('does not retry $errorType', async ({ errorType }) => {
    const strategy = new ChimeRetryStrategy(5);
    const token = await strategy.acquireInitialRetryToken();
    await expect(strategy.refreshRetryTokenForRetry(token, failure(errorType))).rejects.toThrow(
      /not retryable/,
    );
  });

  it('stops retrying 5xx once the retry quota is spent, but still retries throttles', async () => {
    const strategy = new ChimeRetryStrategy(5, () => 0);
    for (let call = 0; call < 100; call++) await retry(strategy, failure('TRANSIENT'), 1);
    expect(strategy.retryQuota()).toBe(0);
    const token = await strategy.acquireInitialRetryToken();
    await expect(strategy.refreshRetryTokenForRetry(token, failure('TRANSIENT'))).rejects.toThrow(/quota/);
    await expect(strategy.refreshRetryTokenForRetry(token, failure('THROTTLING'))).resolves.toBeDefined();
  });

  it('rejects a nonsensical attempt count', () => {
    expect(() => new ChimeRetryStrategy(0)).toThrow(RangeError);
  });
});
