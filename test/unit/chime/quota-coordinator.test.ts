import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CoordinatedRateLimiter,
  fallbackRate,
  liveHolders,
  QuotaCoordinator,
  type QuotaCoordinatorOptions,
  type QuotaLease,
  type QuotaLeaseStore,
  sharedRate,
} from '../../../shared/chime/quota-coordinator';
import { quotaLimits } from '../../../shared/chime/quotas';
import { RateLimiter } from '../../../shared/chime/rate-limiter';

const limits = quotaLimits({ quotaScale: 1, accountQuotaShare: 1 });
const WRITES = 'user-writes:arn:aws:chime:us-east-1:111122223333:app-instance/a';

/** The lease store as one shared map, like the single DynamoDB item; `failing` makes every request fail. */
class MemoryLeases implements QuotaLeaseStore {
  readonly leases = new Map<string, QuotaLease>();
  failing = false;
  requests = 0;

  async renew(lease: QuotaLease, forget: readonly string[]): Promise<readonly QuotaLease[]> {
    this.requests += 1;
    if (this.failing) throw new Error('store down');
    for (const holderId of forget) this.leases.delete(holderId);
    this.leases.set(lease.holderId, lease);
    return [...this.leases.values()];
  }

  async release(holderId: string): Promise<void> {
    this.requests += 1;
    if (this.failing) throw new Error('store down');
    this.leases.delete(holderId);
  }
}

function coordinated(store: QuotaLeaseStore, options: Partial<QuotaCoordinatorOptions> = {}) {
  const coordinator = new QuotaCoordinator({
    store,
    limits,
    fallbackShare: 0.1,
    leaseTtlMs: 6_000,
    clock: { now: () => Date.now() },
    ...options,
  });
  const limiter = new RateLimiter({
    rateFor: (key) => coordinator.rateFor(key),
    clock: { now: () => Date.now() },
  });
  return { coordinator, limiter, calls: new CoordinatedRateLimiter(limiter, coordinator) };
}

const rateOf = (limiter: RateLimiter, key: string) => limiter.configuredRates().get(key);

beforeEach(() => {
  vi.useFakeTimers({
    now: 1_000_000,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('share arithmetic', () => {
  const lease = (holderId: string, buckets: string[], expiresAtMs: number): QuotaLease => ({
    holderId,
    buckets,
    expiresAtMs,
  });

  it('counts the live holders of a bucket, itself always included, expired leases never', () => {
    const leases = [
      lease('me', ['account'], 10),
      lease('b', ['account', WRITES], 2_000),
      lease('c', ['account'], 999), // expired at now = 1000
      lease('d', [WRITES], 5_000),
    ];
    expect(liveHolders(leases, 'account', 'me', 1_000)).toBe(2);
    expect(liveHolders(leases, WRITES, 'me', 1_000)).toBe(3);
    expect(liveHolders([], 'account', 'me', 1_000)).toBe(1);
  });

  it('divides the quota among the holders and applies the cap to the account bucket only', () => {
    expect(sharedRate(limits, 'account', 1)).toBe(50);
    expect(sharedRate(limits, 'account', 4)).toBe(12.5);
    expect(sharedRate(limits, 'account', 1, 0.2)).toBe(10);
    expect(sharedRate(limits, 'account', 10, 0.2)).toBe(5);
    expect(sharedRate(limits, WRITES, 2, 0.2)).toBe(5);
  });

  it('falls back to a static share of every quota, never more than the cap', () => {
    expect(fallbackRate(limits, 'account', 0.1)).toBe(5);
    expect(fallbackRate(limits, WRITES, 0.1)).toBe(1);
    expect(fallbackRate(limits, 'account', 0.5, 0.2)).toBe(10);
  });
});

describe('QuotaCoordinator', () => {
  it('gives a process alone the whole quota, after one renewal before its first call', async () => {
    const store = new MemoryLeases();
    const { limiter, calls, coordinator } = coordinated(store);
    await calls.acquire(['account', WRITES]);
    expect(store.requests).toBe(1);
    expect(rateOf(limiter, 'account')).toBe(50);
    expect(rateOf(limiter, WRITES)).toBe(10);
    expect(coordinator.stats()).toMatchObject({ holding: true, degraded: false, holders: { account: 1 } });
  });

  it('splits a bucket between live holders and gives a holder that stops its share back', async () => {
    const store = new MemoryLeases();
    const a = coordinated(store);
    const b = coordinated(store);
    await a.calls.acquire(['account', WRITES]);
    await b.calls.acquire(['account']);
    // b saw a at once; a sees b at its next heartbeat (2 s).
    expect(rateOf(b.limiter, 'account')).toBe(25);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(rateOf(a.limiter, 'account')).toBe(25);
    expect(rateOf(a.limiter, WRITES)).toBe(10); // b does not draw on it

    // b dies without releasing: its lease counts until it expires (6 s after its last renewal).
    b.coordinator.stop();
    const keepBusy = setInterval(() => a.coordinator.touch(['account', WRITES]), 500);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(rateOf(a.limiter, 'account')).toBe(25);
    await vi.advanceTimersByTimeAsync(2_100);
    expect(rateOf(a.limiter, 'account')).toBe(50);
    clearInterval(keepBusy);
  });

  it('releases its lease when idle, so the others get the quota back at their next heartbeat', async () => {
    const store = new MemoryLeases();
    const a = coordinated(store);
    const b = coordinated(store);
    await a.calls.acquire(['account']);
    await b.calls.acquire(['account']);
    const keepBusy = setInterval(() => a.coordinator.touch(['account']), 500);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(rateOf(a.limiter, 'account')).toBe(25);
    // b makes no call for idleMs (3 s): its heartbeat releases the lease.
    await vi.advanceTimersByTimeAsync(2_000);
    expect(store.leases.has(b.coordinator.holderId)).toBe(false);
    expect(b.coordinator.stats().holding).toBe(false);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(rateOf(a.limiter, 'account')).toBe(50);
    clearInterval(keepBusy);
    // Idle: no timers left, no more requests.
    await vi.advanceTimersByTimeAsync(4_000);
    const requests = store.requests;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(store.requests).toBe(requests);
    expect(a.coordinator.stats().holding).toBe(false);
  });

  it('costs one store request per heartbeat while busy', async () => {
    const store = new MemoryLeases();
    const a = coordinated(store);
    await a.calls.acquire(['account']);
    const keepBusy = setInterval(() => a.coordinator.touch(['account']), 100);
    await vi.advanceTimersByTimeAsync(20_000);
    clearInterval(keepBusy);
    expect(store.requests).toBe(11); // the join, then one every 2 s
  });

  it('degrades to the fallback share when the store fails for a lease lifetime, and recovers', async () => {
    const store = new MemoryLeases();
    const errors: unknown[] = [];
    const a = coordinated(store, { onError: (error) => errors.push(error) });
    await a.calls.acquire(['account', WRITES]);
    expect(rateOf(a.limiter, 'account')).toBe(50);
    store.failing = true;
    const keepBusy = setInterval(() => a.coordinator.touch(['account', WRITES]), 500);
    await vi.advanceTimersByTimeAsync(4_000);
    // Two failed renewals: the last view is still younger than a lease.
    expect(rateOf(a.limiter, 'account')).toBe(50);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(a.coordinator.stats().degraded).toBe(true);
    expect(rateOf(a.limiter, 'account')).toBe(5);
    expect(rateOf(a.limiter, WRITES)).toBe(1);
    expect(errors.length).toBeGreaterThanOrEqual(3);
    store.failing = false;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(a.coordinator.stats().degraded).toBe(false);
    expect(rateOf(a.limiter, 'account')).toBe(50);
    clearInterval(keepBusy);
  });

  it('starts at the fallback share when the store is down from the first call', async () => {
    const store = new MemoryLeases();
    store.failing = true;
    const a = coordinated(store);
    await a.calls.acquire(['account']);
    expect(rateOf(a.limiter, 'account')).toBe(5);
  });

  it('does not wait forever for a store that hangs: the first call goes at the fallback share', async () => {
    const hanging: QuotaLeaseStore = {
      renew: () => new Promise(() => {}),
      release: async () => {},
    };
    const a = coordinated(hanging, { joinTimeoutMs: 500 });
    let done = false;
    void a.calls.acquire(['account']).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(499);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    expect(rateOf(a.limiter, 'account')).toBe(5);
  });

  it('makes only the first call of an active period wait for a store that hangs', async () => {
    const hanging: QuotaLeaseStore = {
      renew: () => new Promise(() => {}),
      release: async () => {},
    };
    const a = coordinated(hanging, { joinTimeoutMs: 500 });
    void a.calls.acquire(['account']);
    await vi.advanceTimersByTimeAsync(500);
    // Busy and well past the lease lifetime, still no answer from the store: calls go at once, at the
    // fallback share.
    const keepBusy = setInterval(() => a.coordinator.touch(['account']), 500);
    await vi.advanceTimersByTimeAsync(10_000);
    clearInterval(keepBusy);
    let done = false;
    void a.calls.acquire(['account']).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(true);
    expect(rateOf(a.limiter, 'account')).toBe(5);
    a.coordinator.stop();
  });

  it('keeps the cut proportion of a throttled bucket when its share changes', async () => {
    const store = new MemoryLeases();
    const a = coordinated(store);
    await a.calls.acquire(['account']);
    a.limiter.onThrottled(['account']); // 50 -> 35
    const b = coordinated(store);
    await b.calls.acquire(['account']);
    a.coordinator.touch(['account']);
    await vi.advanceTimersByTimeAsync(2_000);
    const bucket = a.limiter.stats().buckets.find((entry) => entry.key === 'account');
    expect(bucket?.configuredRate).toBe(25);
    expect(bucket?.effectiveRate).toBeCloseTo(17.5);
  });

  it('rejects shares outside (0, 1] and a heartbeat no shorter than the lease', () => {
    const store = new MemoryLeases();
    expect(() => coordinated(store, { fallbackShare: 0 })).toThrow(RangeError);
    expect(() => coordinated(store, { accountShareCap: 1.5 })).toThrow(RangeError);
    expect(() => coordinated(store, { heartbeatMs: 6_000 })).toThrow(RangeError);
  });
});
