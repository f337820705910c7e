import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimiter, type RateLimiterOptions } from '../../../shared/chime/rate-limiter';

/** Simulated time: fake timers drive both the limiter's timer and its clock. */
function limiter(rates: Record<string, number>, options: Partial<RateLimiterOptions> = {}): RateLimiter {
  return new RateLimiter({
    rateFor: (key) => {
      const rate = rates[key];
      if (rate === undefined) throw new Error(`no rate for ${key}`);
      return rate;
    },
    clock: { now: () => Date.now() },
    ...options,
  });
}

/** Starts an acquisition and records when (simulated ms) it completed. */
function track(rateLimiter: RateLimiter, keys: string[], label = keys.join('+')) {
  const entry = { label, doneAt: undefined as number | undefined };
  void rateLimiter.acquire(keys).then(() => {
    entry.doneAt = Date.now();
  });
  return entry;
}

async function flushMicrotasks(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

const effectiveRate = (rateLimiter: RateLimiter, key: string) =>
  rateLimiter.stats().buckets.find((bucket) => bucket.key === key)?.effectiveRate;

beforeEach(() => {
  vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RateLimiter acquisition', () => {
  it('grants at once, without a timer, while tokens are available', async () => {
    const rateLimiter = limiter({ a: 10 }, { burstSeconds: 0.5 });
    const calls = Array.from({ length: 5 }, () => track(rateLimiter, ['a']));
    await flushMicrotasks();
    expect(calls.map((call) => call.doneAt)).toEqual([0, 0, 0, 0, 0]);
    expect(vi.getTimerCount()).toBe(0);
    expect(rateLimiter.stats()).toMatchObject({ acquired: 5, waited: 0, waiting: 0 });
  });

  it('paces a burst at the configured rate after the burst capacity', async () => {
    const rateLimiter = limiter({ a: 10 }, { burstSeconds: 0.5 });
    const calls = Array.from({ length: 25 }, () => track(rateLimiter, ['a']));
    await vi.advanceTimersByTimeAsync(5_000);
    const times = calls.map((call) => call.doneAt ?? Number.NaN);
    // 5 at once (capacity), then one every 100 ms.
    times.forEach((doneAt, index) => {
      const expected = Math.max(0, (index - 4) * 100);
      expect(doneAt).toBeGreaterThanOrEqual(expected);
      expect(doneAt).toBeLessThanOrEqual(expected + 2);
    });
    // No sliding 1 s window ever holds more than capacity + rate.
    for (const start of times) {
      expect(times.filter((t) => t >= start && t < start + 1000).length).toBeLessThanOrEqual(15);
    }
    expect(vi.getTimerCount()).toBe(0);
  });

  it('serves waiters on one bucket in arrival order', async () => {
    const rateLimiter = limiter({ a: 4 }, { burstSeconds: 0.25 });
    const order: number[] = [];
    for (let index = 0; index < 8; index++) void rateLimiter.acquire(['a']).then(() => order.push(index));
    await vi.advanceTimersByTimeAsync(3_000);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('takes no token from any bucket while another bucket of the same call is empty', async () => {
    const rateLimiter = limiter({ account: 100, writes: 1 }, { burstSeconds: 1 });
    await rateLimiter.acquire(['account', 'writes']); // empties `writes`
    const blocked = track(rateLimiter, ['account', 'writes']);
    await flushMicrotasks();
    expect(blocked.doneAt).toBeUndefined();
    const account = rateLimiter.stats().buckets.find((bucket) => bucket.key === 'account');
    expect(account?.acquired).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(blocked.doneAt).toBe(1_000);
  });

  it('lets later calls use a bucket an earlier waiter is not blocked on (no head-of-line blocking)', async () => {
    const rateLimiter = limiter({ account: 50, writes: 1, describes: 20 }, { burstSeconds: 1 });
    await rateLimiter.acquire(['account', 'writes']);
    const write = track(rateLimiter, ['account', 'writes']);
    const describes = Array.from({ length: 10 }, () => track(rateLimiter, ['account', 'describes']));
    await flushMicrotasks();
    expect(write.doneAt).toBeUndefined();
    expect(describes.every((call) => call.doneAt === 0)).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(write.doneAt).toBe(1_000);
  });

  it('gives a bucket back once its waiter is blocked only elsewhere: one empty moment does not serialise the queue', async () => {
    // A create for AppInstance a found the account bucket empty, then waits a second for a's token. Creates
    // for b arriving meanwhile take the account tokens beyond the one kept for it, instead of queueing
    // behind it until a refills.
    const rateLimiter = limiter({ account: 10, a: 1, b: 10 }, { burstSeconds: 1 });
    await rateLimiter.acquire(['account', 'a']);
    for (let index = 0; index < 9; index++) await rateLimiter.acquire(['account']);
    const first = track(rateLimiter, ['account', 'a']);
    await vi.advanceTimersByTimeAsync(100);
    const others = Array.from({ length: 5 }, () => track(rateLimiter, ['account', 'b']));
    await vi.advanceTimersByTimeAsync(2_000);
    expect(others.map((call) => call.doneAt)).toEqual([200, 300, 400, 500, 600]);
    expect(first.doneAt).toBe(1_000);
  });

  it('keeps a bucket for its earliest waiter: later arrivals cannot take the refilled token', async () => {
    const rateLimiter = limiter({ shared: 1, other: 1 }, { burstSeconds: 1 });
    await rateLimiter.acquire(['shared']);
    await rateLimiter.acquire(['other']);
    const first = track(rateLimiter, ['shared', 'other']);
    await vi.advanceTimersByTimeAsync(500);
    const later = track(rateLimiter, ['shared']);
    await vi.advanceTimersByTimeAsync(500);
    expect(first.doneAt).toBe(1_000);
    expect(later.doneAt).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(later.doneAt).toBe(2_000);
  });

  it.each([
    ['queued before the refill', 700],
    ['arriving after the refill', 1_200],
  ])('keeps a claimed bucket for an earlier waiter still blocked elsewhere (later call %s)', async (_, arrivesAt) => {
    const rateLimiter = limiter({ x: 1, y: 1 }, { burstSeconds: 1 });
    await rateLimiter.acquire(['x']); // x empty at 0, refilled at 1000
    await vi.advanceTimersByTimeAsync(500);
    await rateLimiter.acquire(['y']); // y empty at 500, refilled at 1500
    const both = track(rateLimiter, ['x', 'y']); // claims x and y
    await vi.advanceTimersByTimeAsync(arrivesAt - 500);
    const later = track(rateLimiter, ['x']);
    await vi.advanceTimersByTimeAsync(5_000);
    // At 1000 x has a token but `both` still waits for y: `later` must not take x from it.
    expect(both.doneAt).toBe(1_500);
    expect(later.doneAt).toBe(2_500);
  });

  it('never lets a later waiter starve an earlier one that needs two busy buckets', async () => {
    const rateLimiter = limiter({ x: 2, y: 2 }, { burstSeconds: 0.5 });
    await rateLimiter.acquire(['x']);
    await rateLimiter.acquire(['y']);
    const both = track(rateLimiter, ['x', 'y']);
    // A steady stream of single-bucket calls on both buckets, arriving after `both`.
    const stream: ReturnType<typeof track>[] = [];
    for (let tick = 0; tick < 20; tick++) {
      stream.push(track(rateLimiter, [tick % 2 === 0 ? 'x' : 'y']));
      await vi.advanceTimersByTimeAsync(100);
    }
    await vi.advanceTimersByTimeAsync(20_000);
    expect(both.doneAt).toBeDefined();
    expect(both.doneAt).toBeLessThanOrEqual(500);
    expect(stream.every((call) => call.doneAt !== undefined)).toBe(true);
  });

  it('counts waiting time in its stats', async () => {
    const rateLimiter = limiter({ a: 2 }, { burstSeconds: 0.5 });
    const calls = [track(rateLimiter, ['a']), track(rateLimiter, ['a'])];
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls.map((call) => call.doneAt)).toEqual([0, 500]);
    expect(rateLimiter.stats()).toMatchObject({ acquired: 2, waited: 1, waitedMs: 500, waiting: 0 });
  });

  it('resolves an empty key list immediately', async () => {
    const rateLimiter = limiter({});
    await expect(rateLimiter.acquire([])).resolves.toBeUndefined();
  });
});

describe('RateLimiter adaptation (AIMD)', () => {
  it('cuts the rate by the decrease factor at most once per cooldown, down to the floor while every answer is a throttle', async () => {
    const rateLimiter = limiter(
      { a: 10 },
      { decreaseFactor: 0.7, decreaseCooldownMs: 1_000, minimumRateFraction: 0.1 },
    );
    rateLimiter.onThrottled(['a']);
    expect(effectiveRate(rateLimiter, 'a')).toBeCloseTo(7);
    rateLimiter.onThrottled(['a']); // same burst of 429s
    expect(effectiveRate(rateLimiter, 'a')).toBeCloseTo(7);
    for (let step = 0; step < 60; step++) {
      await vi.advanceTimersByTimeAsync(1_000);
      rateLimiter.onThrottled(['a']);
    }
    // Past 0.45 of where the cuts began only because the answers so far are all throttles (no blip does that).
    expect(effectiveRate(rateLimiter, 'a')).toBeCloseTo(1);
    expect(rateLimiter.stats().throttles).toBe(62);
  });

  it('climbs back linearly in time on success, never above the configured rate', async () => {
    const rateLimiter = limiter({ a: 10 }, { decreaseFactor: 0.5, recoveryMs: 10_000 });
    rateLimiter.onThrottled(['a']);
    expect(effectiveRate(rateLimiter, 'a')).toBeCloseTo(5);
    await vi.advanceTimersByTimeAsync(2_000);
    rateLimiter.onSuccess(['a']);
    expect(effectiveRate(rateLimiter, 'a')).toBeCloseTo(7);
    await vi.advanceTimersByTimeAsync(1_000);
    rateLimiter.onSuccess(['a']);
    expect(effectiveRate(rateLimiter, 'a')).toBeCloseTo(8);
    await vi.advanceTimersByTimeAsync(60_000);
    rateLimiter.onSuccess(['a']);
    expect(effectiveRate(rateLimiter, 'a')).toBe(10);
  });

  it('climbs 5x slower once within 10% of the rate that was last throttled', async () => {
    const rateLimiter = limiter({ a: 100 }, { decreaseFactor: 0.5, recoveryMs: 10_000 });
    await vi.advanceTimersByTimeAsync(1_000);
    rateLimiter.onThrottled(['a']); // throttled at 100, now 50
    await vi.advanceTimersByTimeAsync(4_000);
    rateLimiter.onSuccess(['a']);
    expect(effectiveRate(rateLimiter, 'a')).toBeCloseTo(90); // fast: +10 rps per second
    await vi.advanceTimersByTimeAsync(1_000);
    rateLimiter.onSuccess(['a']);
    expect(effectiveRate(rateLimiter, 'a')).toBeCloseTo(92); // probing: +2 rps per second
  });

  it('paces at the reduced rate after a throttle', async () => {
    const rateLimiter = limiter({ a: 10 }, { burstSeconds: 0.1, decreaseFactor: 0.5 });
    await rateLimiter.acquire(['a']); // empty the 1-token bucket
    rateLimiter.onThrottled(['a']);
    const calls = Array.from({ length: 10 }, () => track(rateLimiter, ['a']));
    await vi.advanceTimersByTimeAsync(10_000);
    // 5 per second instead of 10: the tenth call completes at about 2 s, not 1 s.
    expect(calls.at(-1)?.doneAt).toBeGreaterThanOrEqual(1_950);
    expect(calls.at(-1)?.doneAt).toBeLessThanOrEqual(2_050);
  });

  it('adapts only the buckets it is told about', () => {
    const rateLimiter = limiter({ account: 50, writes: 10 });
    rateLimiter.onThrottled(['writes']);
    expect(effectiveRate(rateLimiter, 'writes')).toBeCloseTo(7);
    expect(effectiveRate(rateLimiter, 'account')).toBeUndefined();
  });
});
