/** The rate limiter's public types: its options, clock, statistics, and the port the Chime client uses. */

export type TimerHandle = unknown;

export interface LimiterClock {
  /** Monotonic milliseconds. */
  now(): number;
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export interface RateLimiterOptions {
  /** The configured (quota) rate of a bucket, in tokens per second. Called once per key, lazily. */
  readonly rateFor: (key: string) => number;
  /**
   * Bucket capacity in seconds of the current rate (at least one token). Kept below one second so that a
   * burst plus network jitter stays inside a server-side bucket of one second of the same rate.
   */
  readonly burstSeconds?: number;
  /** Multiplicative decrease applied to a bucket's rate on a throttle. */
  readonly decreaseFactor?: number;
  /**
   * The rate never drops below this fraction of the configured rate (default 0.25). Throttles do not always
   * mean we are too fast (another consumer of the account quota, a service-side blip): a floor this high
   * keeps a burst of such 429s from starving the queue for long, and retries absorb the rest.
   */
  readonly minimumRateFraction?: number;
  /**
   * At most one decrease per bucket in this window: the calls in flight when the first 429 arrives were
   * sent at the old rate, and their 429s say nothing about the new one (like TCP's once-per-RTT cut).
   */
  readonly decreaseCooldownMs?: number;
  /**
   * Time, under continuous success, for the rate to climb by the whole configured rate (additive increase).
   * Within 10% of the rate that was last throttled the climb is 5x slower, so a limiter configured above the
   * real quota settles just under it instead of oscillating around it.
   */
  readonly recoveryMs?: number;
  /** Answers per measurement window of the foreign-throttle detection (see adaptive-rate.ts). */
  readonly windowSamples?: number;
  /**
   * A bucket every call draws on (the Chime account bucket). The foreign throttle share it proves is shared
   * with the other buckets (see adaptive-rate.ts, `adoptNoise`). Default: none, every bucket learns alone.
   * A function gives each bucket its own reference (the account bucket of its account and region, for
   * Chime): a bucket adopts only its reference's share, and a reference only teaches the buckets it refers.
   */
  readonly noiseReferenceKey?: string | ((key: string) => string | undefined);
  readonly clock?: Partial<LimiterClock>;
}

export interface BucketStats {
  readonly key: string;
  readonly configuredRate: number;
  readonly effectiveRate: number;
  readonly acquired: number;
  /** Sum over acquisitions of the time spent waiting, in ms. */
  readonly waitedMs: number;
  readonly throttles: number;
  readonly waiting: number;
  /** Estimated share of this bucket's answers that are throttles not caused by our rate. */
  readonly foreignThrottleShare: number;
  /** Cuts that were undone because the throttles did not depend on our rate. */
  readonly cutsUndone: number;
}

export interface RateLimiterStats {
  /** Completed `acquire` calls. */
  readonly acquired: number;
  /** Completed `acquire` calls that had to wait. */
  readonly waited: number;
  readonly waitedMs: number;
  /** Throttles reported through `onThrottled` (calls, not buckets). */
  readonly throttles: number;
  readonly waiting: number;
  readonly buckets: readonly BucketStats[];
}

/** One bucket as a capacity estimate sees it (`RateLimiter.bucketState`): read only, nothing is taken. */
export interface BucketState {
  /** Tokens now (refilled to the clock). */
  readonly tokens: number;
  /** Tokens per second now (the configured share, as the adaptive rate has moved it). */
  readonly rate: number;
  /** Waiters queued that need a token of this bucket. */
  readonly waiting: number;
}

/** What the Chime client needs from a limiter; `RateLimiter` implements it. */
export interface CallRateLimiter {
  /** Takes a token of every bucket in `keys`; gives up (rejects with its reason) when `signal` aborts first. */
  acquire(keys: readonly string[], signal?: AbortSignal): Promise<void>;
  onThrottled(keys: readonly string[]): void;
  onSuccess(keys: readonly string[]): void;
}
