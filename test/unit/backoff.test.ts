import { describe, expect, it } from 'vitest';
import { backoff, MAX_VISIBILITY_SECONDS, visibilityDelaySeconds } from '../../shared/backoff';

describe('backoff (the one backoff formula)', () => {
  it('full jitter: uniform below min(cap, base × 2^(attempt-1))', () => {
    const policy = { base: 50, cap: 300 };
    expect([1, 2, 3, 4, 5].map((attempt) => backoff(attempt, policy, () => 0.5))).toEqual([
      25, 50, 100, 150, 150,
    ]);
    expect(backoff(3, policy, () => 0)).toBe(0);
  });

  it('equal jitter: at least half the ceiling', () => {
    const policy = { base: 2, cap: 300, jitter: 'equal' as const };
    expect([1, 2, 3, 9].map((attempt) => backoff(attempt, policy, () => 0))).toEqual([1, 2, 4, 150]);
    expect([1, 2, 3, 9].map((attempt) => backoff(attempt, policy, () => 1))).toEqual([2, 4, 8, 300]);
  });

  it('treats absurd attempts as the first retry or the cap, never NaN', () => {
    const policy = { base: 10, cap: 100 };
    expect(backoff(Number.NaN, policy, () => 1)).toBe(10);
    expect(backoff(0, policy, () => 1)).toBe(10);
    expect(backoff(1e6, policy, () => 1)).toBe(100);
  });
});

describe('visibilityDelaySeconds', () => {
  const retry = { baseSeconds: 2, capSeconds: 300 };

  it('grows with the receive count, between half and all of base × 2^(n-1), in whole seconds', () => {
    for (const [receiveCount, ceiling] of [
      [1, 2],
      [2, 4],
      [3, 8],
      [5, 32],
      [8, 256],
    ] as const) {
      expect(visibilityDelaySeconds(receiveCount, retry, () => 0)).toBe(ceiling / 2);
      expect(visibilityDelaySeconds(receiveCount, retry, () => 0.999999)).toBe(ceiling);
    }
  });

  it('is capped, at least 1 s, never above what SQS accepts, and spreads messages throttled together', () => {
    expect(visibilityDelaySeconds(9, retry, () => 0.999999)).toBe(300);
    expect(visibilityDelaySeconds(Number.NaN, retry, () => 0)).toBe(1);
    expect(visibilityDelaySeconds(50, { baseSeconds: 1, capSeconds: 1e9 }, () => 1)).toBe(
      MAX_VISIBILITY_SECONDS,
    );
    const delays = new Set(Array.from({ length: 200 }, () => visibilityDelaySeconds(6, retry)));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(32);
    expect(delays.size).toBeGreaterThan(10);
  });
});
