/**
 * One quota's token bucket, with the per-bucket state of the adaptive rate (adaptive-rate.ts) and of the
 * fair queue (rate-limiter.ts). Plain state and arithmetic: the decisions are made by those two modules.
 */

export const TOKEN_EPSILON = 1e-9;

export interface WindowStats {
  /** How many answers the window counted. */
  readonly answers: number;
  /** Throttled share of the answers. */
  readonly fraction: number;
  /** Answers that were not throttles, per second. */
  readonly accepted: number;
  /** Answers per second. */
  readonly sent: number;
}

/** A run of cuts: from the first throttle until a window without any, or until it is judged. */
export interface Episode {
  readonly startRate: number;
  readonly startThrottledAt: number;
  /** Set while probing: the rate and window at the bottom of the cuts. */
  probe?: { readonly rate: number; readonly window: WindowStats };
}

export interface Waiter {
  readonly buckets: readonly Bucket[];
  readonly enqueuedAt: number;
  readonly resolve: () => void;
}

export class Bucket {
  effectiveRate: number;
  tokens: number;
  updatedAt: number;
  lastDecreaseAt = Number.NEGATIVE_INFINITY;
  lastIncreaseAt: number;
  /** The rate at which the last throttle hit: where the real quota probably is. */
  throttledAtRate = Number.POSITIVE_INFINITY;
  /** Waiters blocked on this bucket when last looked at (no free token, or an earlier waiter claims it). */
  readonly claimants = new Set<Waiter>();
  /** The last serving pass in which a waiter claimed this bucket: later waiters of that pass queue behind. */
  claimedInPass = -1;
  /** The pass in which the oldest waiter reserved one of this bucket's tokens (rate-limiter.ts). */
  reservedInPass = -1;
  acquired = 0;
  waitedMs = 0;
  throttles = 0;
  /** Answers in the current measurement window. */
  windowStartedAt: number;
  windowAnswers = 0;
  windowThrottles = 0;
  episode: Episode | undefined;
  noise = 0;
  /**
   * The upper confidence bound of the foreign share a probe proved (this bucket's, or the reference
   * bucket's it adopted): the noise estimate never rises above it.
   */
  noiseCeiling = 0;
  cutsUndone = 0;

  constructor(
    readonly key: string,
    public configuredRate: number,
    private readonly burstSeconds: number,
    now: number,
  ) {
    this.effectiveRate = configuredRate;
    this.tokens = this.capacity();
    this.updatedAt = now;
    this.lastIncreaseAt = now;
    this.windowStartedAt = now;
  }

  capacity(): number {
    return Math.max(1, this.effectiveRate * this.burstSeconds);
  }

  refill(now: number): void {
    const elapsedMs = now - this.updatedAt;
    if (elapsedMs > 0) {
      this.tokens = Math.min(this.capacity(), this.tokens + (this.effectiveRate * elapsedMs) / 1000);
      this.updatedAt = now;
    }
  }

  /** The tokens at `now`, without taking or storing anything (the refill's arithmetic only). */
  tokensAt(now: number): number {
    const elapsedMs = Math.max(0, now - this.updatedAt);
    return Math.min(this.capacity(), this.tokens + (this.effectiveRate * elapsedMs) / 1000);
  }

  /** Tokens set aside in `pass` for the oldest waiter. */
  private reservedIn(pass: number): number {
    return this.reservedInPass === pass ? 1 : 0;
  }

  /** A token free for the next waiter of `pass`: neither claimed by an earlier one nor reserved. */
  availableIn(pass: number): boolean {
    return this.claimedInPass !== pass && this.tokens - this.reservedIn(pass) >= 1 - TOKEN_EPSILON;
  }

  reserveIn(pass: number): void {
    this.reservedInPass = pass;
  }

  /** Milliseconds until a token beyond the one reserved in `pass` (if any), at the current rate. */
  msUntilUnreserved(pass: number): number {
    const missing = 1 + this.reservedIn(pass) - this.tokens;
    return missing <= TOKEN_EPSILON ? 0 : (missing / this.effectiveRate) * 1000;
  }

  setRate(rate: number): void {
    this.effectiveRate = rate;
    this.tokens = Math.min(this.tokens, this.capacity());
  }

  windowStats(now: number): WindowStats {
    const seconds = Math.max(1e-3, (now - this.windowStartedAt) / 1000);
    return {
      answers: this.windowAnswers,
      fraction: this.windowAnswers === 0 ? 0 : this.windowThrottles / this.windowAnswers,
      accepted: (this.windowAnswers - this.windowThrottles) / seconds,
      sent: this.windowAnswers / seconds,
    };
  }

  /** Starts a new window at `startAt` (later than now to skip answers to calls sent before a change). */
  resetWindow(startAt: number): void {
    this.windowStartedAt = startAt;
    this.windowAnswers = 0;
    this.windowThrottles = 0;
  }
}
