import { describe, expect, it } from 'vitest';
import { isAccountBucket, scopeOfArn } from '../../../shared/chime/quotas';
import { RateLimiter } from '../../../shared/chime/rate-limiter';
import { limiterCapacity, servableWithin } from '../../../shared/composition/onboarding';
import { type CapacityRequest, requestsBeyondCapacity } from '../../../shared/onboarding/capacity';
import type { CreateCapacity, TenantPolicy } from '../../../shared/onboarding/ports';
import { compilePolicy, parsePolicy } from '../../../shared/policy';
import { appInstanceArn, policyDocument } from '../../fixtures/policies';

/**
 * Which requests of a batch go back because their tenant's create quota cannot serve them before the
 * invocation's deadline (shared/onboarding/capacity.ts), and the estimate it rests on.
 */

function policy(tenantId: string, overrides: Record<string, unknown> = {}): TenantPolicy {
  const arn = appInstanceArn(tenantId);
  const parsed = parsePolicy(policyDocument(tenantId, arn, overrides));
  if (!parsed.ok) throw new Error('fixture policy invalid');
  return {
    tenantId,
    version: 1,
    enabled: parsed.policy.enabled,
    appInstanceArn: arn,
    compiled: compilePolicy(parsed.policy),
  };
}

/** Buckets with fixed room, as `room[bucket]` calls each; a create takes the account and its AppInstance's. */
function fixedCapacity(room: Record<string, number>): CreateCapacity & { asked: number[] } {
  const asked: number[] = [];
  return {
    asked,
    bucketsOfCreate: (arn) => ['account', `user-writes:${arn}`],
    servableWithin: (bucket, horizonMs) => {
      asked.push(horizonMs);
      return room[bucket] ?? 0;
    },
  };
}

const requests = (tenantId: string, count: number, from = 0): CapacityRequest[] =>
  Array.from({ length: count }, (_, index) => ({ messageId: `${tenantId}-${from + index}`, tenantId }));

const policies = (known: Record<string, TenantPolicy | Error | null>) => ({
  get: async (tenantId: string) => {
    const found = known[tenantId];
    if (found instanceof Error) throw found;
    return found ?? null;
  },
});

describe('requestsBeyondCapacity', () => {
  const a = policy('a');
  const b = policy('b');
  it.each([
    [
      "one tenant's requests beyond its AppInstance's room go back, the last ones",
      [...requests('a', 5)],
      { account: 100, [`user-writes:${a.appInstanceArn}`]: 3 },
      ['a-3', 'a-4'],
    ],
    [
      "another tenant's requests proceed beside a full one",
      [...requests('a', 4), ...requests('b', 2)],
      { account: 100, [`user-writes:${a.appInstanceArn}`]: 2, [`user-writes:${b.appInstanceArn}`]: 10 },
      ['a-2', 'a-3'],
    ],
    [
      'the account bucket is shared: in batch order',
      [...requests('a', 2), ...requests('b', 2)],
      { account: 3, [`user-writes:${a.appInstanceArn}`]: 10, [`user-writes:${b.appInstanceArn}`]: 10 },
      ['b-1'],
    ],
    [
      'everything fits: nothing goes back',
      [...requests('a', 3)],
      { account: 3, [`user-writes:${a.appInstanceArn}`]: 3 },
      [],
    ],
  ])('%s', async (_case, batch, room, beyond) => {
    const result = await requestsBeyondCapacity(batch, 1_000, {
      policies: policies({ a, b }),
      capacity: fixedCapacity(room),
    });
    expect([...result].sort()).toEqual([...beyond].sort());
  });

  it('admits what it cannot judge: an unknown or disabled tenant, a policy that cannot be read now', async () => {
    const disabled = policy('off', { enabled: false });
    const result = await requestsBeyondCapacity(
      [...requests('nobody', 3), ...requests('off', 3), ...requests('broken', 3)],
      1_000,
      {
        policies: policies({ nobody: null, off: disabled, broken: new Error('DynamoDB down') }),
        capacity: fixedCapacity({}),
      },
    );
    expect(result).toEqual(new Set());
  });

  it('asks for the horizon it was given, never a negative one', async () => {
    const capacity = fixedCapacity({ account: 1, [`user-writes:${a.appInstanceArn}`]: 1 });
    await requestsBeyondCapacity(requests('a', 2), -500, { policies: policies({ a }), capacity });
    expect(capacity.asked.every((horizon) => horizon === 0)).toBe(true);
  });
});

describe('servableWithin: tokens now + rate × horizon − waiters ahead', () => {
  it.each([
    ['a full bucket and nothing waiting', { tokens: 5, rate: 10, waiting: 0 }, 2_000, 25],
    ['waiters ahead take their share first', { tokens: 5, rate: 10, waiting: 20 }, 2_000, 5],
    ['more waiters than it serves', { tokens: 0, rate: 10, waiting: 50 }, 2_000, 0],
    ['an empty bucket at a lowered rate', { tokens: 0.4, rate: 2.5, waiting: 0 }, 1_000, 2],
    ['no time left', { tokens: 3, rate: 10, waiting: 0 }, 0, 3],
    ['floating-point refills', { tokens: 0.9999999999, rate: 0, waiting: 0 }, 0, 1],
  ])('%s', (_case, state, horizonMs, servable) => {
    expect(servableWithin(state, horizonMs)).toBe(servable);
  });
});

describe("the rate limiter's bucket state (read only)", () => {
  it('reports tokens refilled to the clock, the rate and the waiters needing the bucket, and takes nothing', async () => {
    let now = 0;
    const limiter = new RateLimiter({
      rateFor: (key) => (key === 'account' ? 50 : 10),
      burstSeconds: 0.5,
      clock: { now: () => now, setTimer: () => 0, clearTimer: () => {} },
    });
    const app = `user-writes:${appInstanceArn('a')}`;
    // Not used yet: full, at the rate it would start with.
    expect(limiter.bucketState(app)).toEqual({ tokens: 5, rate: 10, waiting: 0 });
    for (let call = 0; call < 5; call++) await limiter.acquire(['account', app]);
    const pending = [limiter.acquire(['account', app]), limiter.acquire(['account', app])];
    now = 100;
    expect(limiter.bucketState(app)).toEqual({ tokens: 1, rate: 10, waiting: 2 });
    expect(limiter.bucketState('account')).toMatchObject({ rate: 50, waiting: 2 });
    // Looking took nothing: the same look again says the same.
    expect(limiter.bucketState(app)).toEqual({ tokens: 1, rate: 10, waiting: 2 });
    expect(limiter.stats().acquired).toBe(5);
    void pending;
  });

  it('limiterCapacity reads the buckets a create takes and estimates each', () => {
    const limiter = new RateLimiter({
      rateFor: (key) => (isAccountBucket(key) ? 50 : 10),
      burstSeconds: 0.5,
    });
    const capacity = limiterCapacity(limiter);
    const arn = appInstanceArn('a');
    const scope = scopeOfArn(arn);
    // The account bucket of the AppInstance's own account and Region, as the Chime client charges it.
    expect(capacity.bucketsOfCreate(arn)).toEqual([
      `account:${scope?.account}:${scope?.region}`,
      `user-writes:${arn}`,
    ]);
    // 5 tokens now + 10/s over 3 s.
    expect(capacity.servableWithin(`user-writes:${arn}`, 3_000)).toBe(35);
  });
});
