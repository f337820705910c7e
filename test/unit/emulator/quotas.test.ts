import { describe, expect, it } from 'vitest';
import { QuotaManager, TokenBucket } from '../../../emulator/quotas';

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 0;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

describe('TokenBucket', () => {
  it('starts full at one second of rate and refills continuously up to capacity', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 10, clock.now);
    for (let i = 0; i < 10; i++) {
      expect(bucket.canTake()).toBe(true);
      bucket.take();
    }
    expect(bucket.canTake()).toBe(false);
    clock.advance(50);
    expect(bucket.canTake()).toBe(false);
    clock.advance(50);
    expect(bucket.canTake()).toBe(true);
    clock.advance(60_000);
    expect(bucket.available()).toBe(10);
  });
});

describe('QuotaManager', () => {
  it('throttles per AppInstance and leaves other AppInstances alone', () => {
    const clock = fakeClock();
    const quotas = new QuotaManager(1, clock.now);
    for (let i = 0; i < 10; i++) expect(quotas.admit('CreateAppInstanceUser', 'app-a')).toBeUndefined();
    expect(quotas.admit('CreateAppInstanceUser', 'app-a')).toContain('appInstanceUserWrite');
    expect(quotas.admit('PutAppInstanceUserExpirationSettings', 'app-a')).toContain('appInstanceUserWrite');
    expect(quotas.admit('CreateAppInstanceUser', 'app-b')).toBeUndefined();
  });

  it('does not take account tokens for a call throttled by its operation bucket', () => {
    const clock = fakeClock();
    const quotas = new QuotaManager(1, clock.now);
    for (let i = 0; i < 10; i++) quotas.admit('CreateAppInstanceUser', 'app-a');
    for (let i = 0; i < 100; i++) expect(quotas.admit('CreateAppInstanceUser', 'app-a')).toBeDefined();
    // 40 account tokens are left: two AppInstances' describe buckets (20 each) fit exactly.
    for (let i = 0; i < 20; i++) expect(quotas.admit('DescribeAppInstanceUser', 'app-b')).toBeUndefined();
    for (let i = 0; i < 20; i++) expect(quotas.admit('DescribeAppInstanceUser', 'app-c')).toBeUndefined();
    expect(quotas.admit('DescribeAppInstanceUser', 'app-d')).toContain('accountTotal');
  });

  it('scales every rate and resets', () => {
    const clock = fakeClock();
    const quotas = new QuotaManager(2, clock.now);
    for (let i = 0; i < 20; i++) expect(quotas.admit('UpdateAppInstanceUser', 'app')).toBeUndefined();
    expect(quotas.admit('UpdateAppInstanceUser', 'app')).toBeDefined();
    quotas.reset();
    expect(quotas.admit('UpdateAppInstanceUser', 'app')).toBeUndefined();
  });
});
