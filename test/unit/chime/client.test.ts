import { describe, expect, it } from 'vitest';
import {
  ChimeAttemptCounter,
  createChimeClient,
  createChimeRateLimiter,
  RATE_LIMIT_MIDDLEWARE_NAME,
} from '../../../shared/chime/client';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffDelayMs } from '../../../shared/chime/retry-strategy';

describe('createChimeClient', () => {
  it('places the rate limiter inside the retry loop and before signing', () => {
    const client = createChimeClient({
      limiter: createChimeRateLimiter({ quotaScale: 1, accountQuotaShare: 1 }),
      region: 'us-east-1',
    });
    const stack = client.middlewareStack.identify().map((entry) => entry.split(' ')[0]);
    const retry = stack.indexOf('retryMiddleware');
    expect(retry).toBeGreaterThanOrEqual(0);
    expect(stack[retry + 1]).toBe(RATE_LIMIT_MIDDLEWARE_NAME);
    expect(stack.indexOf('httpSigningMiddleware')).toBeGreaterThan(retry + 1);
    client.destroy();
  });

  it('rejects a nonsensical attempt count', () => {
    const limiter = createChimeRateLimiter({ quotaScale: 1, accountQuotaShare: 1 });
    expect(() => createChimeClient({ limiter, maxAttempts: 0 })).toThrow(RangeError);
  });
});

describe('backoffDelayMs', () => {
  it('is full jitter under an exponential ceiling', () => {
    expect(backoffDelayMs(1, () => 0.999_999)).toBe(BACKOFF_BASE_MS - 1);
    expect(backoffDelayMs(3, () => 0.5)).toBe(BACKOFF_BASE_MS * 2);
    expect(backoffDelayMs(2, () => 0)).toBe(0);
  });

  it('never exceeds the cap', () => {
    expect(backoffDelayMs(30, () => 0.999_999)).toBeLessThan(BACKOFF_CAP_MS);
    expect(backoffDelayMs(30, () => 0.5)).toBe(BACKOFF_CAP_MS / 2);
  });
});

describe('ChimeAttemptCounter', () => {
  it('counts attempts, throttles and errors per operation', () => {
    const counter = new ChimeAttemptCounter();
    counter.observe({ operation: 'DescribeAppInstanceUser', outcome: 'success', waitedMs: 0, durationMs: 1 });
    counter.observe({
      operation: 'DescribeAppInstanceUser',
      outcome: 'throttled',
      errorKind: 'throttled',
      waitedMs: 0,
      durationMs: 1,
    });
    counter.observe({
      operation: 'CreateAppInstanceUser',
      outcome: 'error',
      errorKind: 'conflict',
      waitedMs: 0,
      durationMs: 1,
    });
    expect(counter.snapshot()).toEqual({
      DescribeAppInstanceUser: { attempts: 2, throttled: 1, errors: 0 },
      CreateAppInstanceUser: { attempts: 1, throttled: 0, errors: 1 },
    });
    expect(counter.total()).toEqual({ attempts: 3, throttled: 1, errors: 1 });
  });
});
