/**
 * An in-process, multi-key, adaptive (AIMD) token-bucket rate limiter for Chime SDK Identity calls.
 *
 * Why hand-written: one Chime call consumes tokens from several quotas at once (the account-wide total and
 * a per-AppInstance operation quota), must take them atomically, must queue fairly when they run out, and
 * must adapt to the 429s the service answers with. The common JS limiters (bottleneck,
 * p-limit/p-throttle, limiter, rate-limiter-flexible) are single-key, or counter/window based, or
 * Redis-oriented; none combines multi-key atomic acquisition with AIMD, and the SDK's own adaptive retry
 * mode has a single client-wide bucket that knows nothing of per-AppInstance quotas.
 *
 * Scheduling: waiters are served in arrival order per bucket. A waiter that is blocked on a bucket (no
 * token, or an earlier waiter queued on it) "claims" that bucket, so later arrivals cannot take that
 * bucket's tokens from under it; buckets it is NOT blocked on stay usable by later waiters (no
 * head-of-line blocking: a put waiting for a user-writes token does not stop describes from using the
 * account bucket). A claim lasts while the waiter is blocked on the bucket, not until it is served: a
 * create that once found the account bucket empty and then waits for its AppInstance's token must not
 * hold the account bucket for every create of the other AppInstances behind it. Kept until served
 * (as this limiter once did), one empty moment of the account bucket serialised the whole queue for as
 * long as a backlog lasted: measured, onboarding over 5 AppInstances at 0.78 of the quota instead of 0.95.
 * Starvation-freedom comes from the oldest waiter instead: it also reserves one token of each bucket it
 * can already take, so later waiters cannot drain those while it waits for the rest (at most one token
 * per bucket is parked, and only for the time the oldest waiter's other buckets take to refill).
 * Tokens are taken only when every needed bucket can give one (atomic). There is no timer while nobody
 * waits, and one timer (set for the earliest refill) while someone does; that timer is deliberately not
 * unref'd, because a pending call is work in progress that must keep the process alive.
 *
 * Throttles that are not ours (a service blip, another client of the account quota) must not starve the
 * queue: how a bucket's rate answers throttles and successes, and how it tells foreign throttles from its
 * own, is in adaptive-rate.ts.
 * Configured rates can change at run time (`setConfiguredRate`): the quota coordinator moves them as other
 * processes start and stop drawing on the same quotas.
 */

import { AdaptiveRate } from './adaptive-rate';
import type {
  BucketState,
  CallRateLimiter,
  LimiterClock,
  RateLimiterOptions,
  RateLimiterStats,
  TimerHandle,
} from './limiter-types';
import { Bucket, type Waiter } from './token-bucket';

export type {
  BucketState,
  BucketStats,
  CallRateLimiter,
  LimiterClock,
  RateLimiterOptions,
  RateLimiterStats,
  TimerHandle,
} from './limiter-types';

export class RateLimiter implements CallRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly waiters: Waiter[] = [];
  private readonly clock: LimiterClock;
  private readonly burstSeconds: number;
  private readonly adaptation: AdaptiveRate;
  private passes = 0;
  private timer: { handle: TimerHandle; dueAt: number } | undefined;
  private serveQueued = false;
  private totals = { acquired: 0, waited: 0, waitedMs: 0, throttles: 0 };
  /** Each bucket's noise reference (see RateLimiterOptions.noiseReferenceKey), looked up once per key. */
  private readonly references = new Map<string, string | undefined>();

  constructor(private readonly options: RateLimiterOptions) {
    this.burstSeconds = options.burstSeconds ?? 0.5;
    const decreaseFactor = options.decreaseFactor ?? 0.7;
    const minimumRateFraction = options.minimumRateFraction ?? 0.25;
    // Defaults look the globals up at call time so test fake timers apply.
    this.clock = {
      now: options.clock?.now ?? (() => performance.now()),
      setTimer: options.clock?.setTimer ?? ((callback, delayMs) => setTimeout(callback, delayMs)),
      clearTimer: options.clock?.clearTimer ?? ((handle) => clearTimeout(handle as NodeJS.Timeout)),
    };
    if (!(this.burstSeconds > 0)) throw new RangeError('burstSeconds must be > 0');
    if (!(decreaseFactor > 0 && decreaseFactor < 1)) throw new RangeError('decreaseFactor in (0,1)');
    if (!(minimumRateFraction > 0 && minimumRateFraction <= 1)) {
      throw new RangeError('minimumRateFraction in (0,1]');
    }
    this.adaptation = new AdaptiveRate(
      {
        decreaseFactor,
        minimumRateFraction,
        decreaseCooldownMs: options.decreaseCooldownMs ?? 300,
        recoveryMs: options.recoveryMs ?? 20_000,
        windowSamples: options.windowSamples ?? 40,
      },
      () => {
        if (this.waiters.length > 0) this.schedule();
      },
      (bucket, now) => {
        if (this.referenceOf(bucket.key) !== bucket.key) return;
        for (const other of this.buckets.values()) {
          if (other !== bucket && this.referenceOf(other.key) === bucket.key) {
            this.adaptation.adoptNoise(other, bucket, now);
          }
        }
      },
      (bucket) => {
        const referenceKey = this.referenceOf(bucket.key);
        if (referenceKey === undefined || bucket.key === referenceKey) return 0;
        return this.buckets.get(referenceKey)?.noiseCeiling ?? 0;
      },
    );
  }

  /** The bucket whose proven foreign throttle share `key`'s bucket adopts (undefined: none). */
  private referenceOf(key: string): string | undefined {
    if (this.references.has(key)) return this.references.get(key);
    const option = this.options.noiseReferenceKey;
    const reference = typeof option === 'function' ? option(key) : option;
    this.references.set(key, reference);
    return reference;
  }

  /**
   * Resolves once one token from every bucket in `keys` has been taken (all at once). When `signal` aborts
   * first (an SQS invocation's deadline, see shared/aws/queue-driver.ts), the waiter leaves the queue without
   * a token and the promise rejects with the signal's reason; an aborted signal rejects at once.
   */
  acquire(keys: readonly string[], signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = this.clock.now();
    const buckets = [...new Set(keys)].map((key) => this.bucket(key, now));
    if (buckets.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let onAbort: (() => void) | undefined;
      const waiter: Waiter = {
        buckets,
        enqueuedAt: now,
        resolve: () => {
          if (onAbort) signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      // The newest arrival is behind everyone already queued, so it is judged as the last waiter of the
      // latest pass (its claims and reservations still stand); earlier waiters are served by the timer. No
      // waiting at all when the tokens are there.
      if (this.tryServe(waiter, this.passes, this.waiters.length === 0, now)) return;
      this.waiters.push(waiter);
      if (signal) {
        onAbort = () => this.withdraw(waiter, () => reject(signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.schedule();
    });
  }

  /**
   * Takes a waiter out of the queue (its signal aborted). Its claims go with it; the token it may have
   * reserved as the oldest waiter was reserved for the last pass only. The others are served again once
   * every waiter of the same abort has left (one signal usually ends a whole batch's waits at once).
   */
  private withdraw(waiter: Waiter, reject: () => void): void {
    const index = this.waiters.indexOf(waiter);
    if (index < 0) return;
    this.waiters.splice(index, 1);
    for (const bucket of waiter.buckets) bucket.claimants.delete(waiter);
    reject();
    if (this.serveQueued) return;
    this.serveQueued = true;
    queueMicrotask(() => {
      this.serveQueued = false;
      this.serve();
    });
  }

  /**
   * A call using these buckets was throttled: cut their rates (at most once per cooldown), unless their
   * throttles have been found to be mostly foreign, in which case the window decides (adaptive-rate.ts).
   */
  onThrottled(keys: readonly string[]): void {
    const now = this.clock.now();
    this.totals.throttles += 1;
    for (const key of new Set(keys)) {
      const bucket = this.bucket(key, now);
      bucket.throttles += 1;
      this.adaptation.throttled(bucket, now);
    }
    // A lower rate only delays the next token; the pending timer re-checks when it fires.
  }

  /**
   * Sets a bucket's configured rate (the quota coordinator's share). The adaptive state keeps its proportion:
   * a bucket cut to 70% of its old share runs at 70% of the new one. Creates the bucket if it is new.
   */
  setConfiguredRate(key: string, rate: number): void {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate for bucket ${key} must be > 0`);
    const now = this.clock.now();
    const existing = this.buckets.get(key);
    if (!existing) {
      this.newBucket(key, rate, now);
      return;
    }
    if (existing.configuredRate === rate) return;
    const ratio = rate / existing.configuredRate;
    existing.refill(now);
    existing.configuredRate = rate;
    existing.setRate(existing.effectiveRate * ratio);
    existing.throttledAtRate *= ratio;
    // The windows measured our rate, which just changed: start over.
    existing.episode = undefined;
    existing.resetWindow(now);
    if (ratio > 1 && this.waiters.length > 0) this.schedule();
  }

  /** The configured rate of every bucket this limiter has seen. */
  configuredRates(): ReadonlyMap<string, number> {
    return new Map([...this.buckets.values()].map((bucket) => [bucket.key, bucket.configuredRate]));
  }

  /** A call using these buckets got through: raise their rates linearly in time back toward the quota. */
  onSuccess(keys: readonly string[]): void {
    const now = this.clock.now();
    let raised = false;
    for (const key of new Set(keys)) {
      if (this.adaptation.succeeded(this.bucket(key, now), now)) raised = true;
    }
    if (raised && this.waiters.length > 0) this.schedule();
  }

  /**
   * A read-only look at one bucket, for a capacity estimate (onboarding hands back what its tenant's quota
   * cannot serve before the invocation's deadline): its tokens now, its rate, the waiters that need it. A
   * bucket not used yet is reported full, at the rate it would start with. Creates and takes nothing.
   */
  bucketState(key: string): BucketState {
    const bucket = this.buckets.get(key);
    if (!bucket) {
      const rate = this.options.rateFor(key);
      return { tokens: Math.max(1, rate * this.burstSeconds), rate, waiting: 0 };
    }
    let waiting = 0;
    for (const waiter of this.waiters) if (waiter.buckets.includes(bucket)) waiting += 1;
    return { tokens: bucket.tokensAt(this.clock.now()), rate: bucket.effectiveRate, waiting };
  }

  stats(): RateLimiterStats {
    return {
      ...this.totals,
      waiting: this.waiters.length,
      buckets: [...this.buckets.values()].map((bucket) => ({
        key: bucket.key,
        configuredRate: bucket.configuredRate,
        effectiveRate: bucket.effectiveRate,
        acquired: bucket.acquired,
        waitedMs: bucket.waitedMs,
        throttles: bucket.throttles,
        waiting: bucket.claimants.size,
        foreignThrottleShare: bucket.noise,
        cutsUndone: bucket.cutsUndone,
      })),
    };
  }

  private bucket(key: string, now: number): Bucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      const rate = this.options.rateFor(key);
      if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate for bucket ${key} must be > 0`);
      bucket = this.newBucket(key, rate, now);
    }
    return bucket;
  }

  /** A new bucket starts with the foreign share the reference bucket has proven (adaptive-rate.ts). */
  private newBucket(key: string, rate: number, now: number): Bucket {
    const bucket = new Bucket(key, rate, this.burstSeconds, now);
    const referenceKey = this.referenceOf(key);
    const reference = referenceKey === undefined ? undefined : this.buckets.get(referenceKey);
    if (reference) this.adaptation.adoptNoise(bucket, reference, now);
    this.buckets.set(key, bucket);
    return bucket;
  }

  /** Serves every waiter that can be served now, in arrival order, then sets the timer for the rest. */
  private serve(): void {
    const now = this.clock.now();
    const pass = ++this.passes;
    let remaining = 0;
    for (const waiter of this.waiters) {
      if (!this.tryServe(waiter, pass, remaining === 0, now)) this.waiters[remaining++] = waiter;
    }
    this.waiters.length = remaining;
    this.schedule();
  }

  /**
   * Grants `waiter` if every bucket it needs has a token that no earlier waiter of this pass claims or
   * reserves. Otherwise it claims the buckets it is blocked on (and gives up its claims on the others),
   * and, when it is the oldest waiter, reserves one token of each bucket it could take now.
   */
  private tryServe(waiter: Waiter, pass: number, oldest: boolean, now: number): boolean {
    let ready = true;
    for (const bucket of waiter.buckets) {
      bucket.refill(now);
      if (!bucket.availableIn(pass)) ready = false;
    }
    if (ready) {
      this.grant(waiter, now);
      return true;
    }
    for (const bucket of waiter.buckets) {
      if (bucket.availableIn(pass)) {
        bucket.claimants.delete(waiter);
        if (oldest) bucket.reserveIn(pass);
      } else {
        bucket.claimants.add(waiter);
        bucket.claimedInPass = pass;
      }
    }
    return false;
  }

  private grant(waiter: Waiter, now: number): void {
    const waitedMs = now - waiter.enqueuedAt;
    for (const bucket of waiter.buckets) {
      bucket.tokens -= 1;
      bucket.claimants.delete(waiter);
      bucket.acquired += 1;
      bucket.waitedMs += waitedMs;
    }
    this.totals.acquired += 1;
    if (waitedMs > 0) {
      this.totals.waited += 1;
      this.totals.waitedMs += waitedMs;
    }
    waiter.resolve();
  }

  /** One timer, due when the first claimed-but-empty bucket gets a token; none when nobody waits. */
  private schedule(): void {
    if (this.waiters.length === 0) {
      this.cancelTimer();
      return;
    }
    const now = this.clock.now();
    let delayMs = Number.POSITIVE_INFINITY;
    for (const bucket of this.buckets.values()) {
      if (bucket.claimants.size === 0) continue;
      bucket.refill(now);
      const untilFree = bucket.msUntilUnreserved(this.passes);
      if (untilFree > 0) delayMs = Math.min(delayMs, untilFree);
    }
    // Unreachable in theory (the oldest waiter is always blocked on a bucket short of tokens); a short
    // retry beats a stuck queue if that reasoning ever breaks.
    if (!Number.isFinite(delayMs)) delayMs = 10;
    const dueAt = now + Math.max(1, Math.ceil(delayMs));
    if (this.timer && this.timer.dueAt <= dueAt) return;
    this.cancelTimer();
    const handle = this.clock.setTimer(() => {
      this.timer = undefined;
      this.serve();
    }, dueAt - now);
    this.timer = { handle, dueAt };
  }

  private cancelTimer(): void {
    if (this.timer) {
      this.clock.clearTimer(this.timer.handle);
      this.timer = undefined;
    }
  }
}
