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
 * account bucket). Claims are kept until the waiter is served, which makes the scheme starvation-free.
 * Tokens are taken only when every needed bucket can give one (atomic). There is no timer while nobody
 * waits, and one timer (set for the earliest refill) while someone does; that timer is deliberately not
 * unref'd, because a pending call is work in progress that must keep the process alive.
 *
 * Throttles that are not ours: a 429 from a service blip or from another client of the account quota is not
 * a sign that our rate is too high, and cutting for it only starves our queue (measured before this existed:
 * 20% random 429s kept onboarding at the floor, 0.125 of the quota). So a run of cuts (an episode) may go
 * no deeper than EPISODE_DEPTH of the rate it started from before it is judged on a measurement window
 * (at least `windowSamples` answers). A window without throttles ends it: the cuts were enough. If the
 * throttles go on at the bottom, a probe goes back to the starting rate for one window: when what gets
 * through grows with what we send, the throttles did not depend on our rate, so the rate stays there and
 * their share is remembered as foreign noise, under which throttles only cut when a window's share climbs
 * clearly above it. When what gets through stays put, we are at a real limit (a competitor took part of the
 * quota): back to the bottom, and the cuts go on from there. The noise estimate only follows the measured
 * share down, so it fades within a few windows once the blips stop. Safety nets keep the classic speed
 * where no blip can be the cause: a window throttled more than MAX_FOREIGN_FRACTION lets the cuts go past
 * the depth, a probe throttled more than PROBE_ABORT_FRACTION ends at once, a bottom window with fewer than
 * MIN_PROBE_FRACTION throttles (stragglers) ends the episode without a probe, and no additive increase
 * runs under a probe.
 * Configured rates can change at run time (`setConfiguredRate`): the quota coordinator moves them as other
 * processes start and stop drawing on the same quotas.
 */

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
  /** Answers per measurement window of the foreign-throttle detection (see the module comment). */
  readonly windowSamples?: number;
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

/** What the Chime client needs from a limiter; `RateLimiter` implements it. */
export interface CallRateLimiter {
  acquire(keys: readonly string[]): Promise<void>;
  onThrottled(keys: readonly string[]): void;
  onSuccess(keys: readonly string[]): void;
}

const TOKEN_EPSILON = 1e-9;
/** Above this fraction of the last throttled rate, the additive increase slows to PROBE_SPEED. */
const PROBE_THRESHOLD = 0.9;
const PROBE_SPEED = 0.2;
/** Noise below this is treated as none: every throttle cuts at once (the classic AIMD path). */
const NOISE_ACTIVE = 0.02;
/** Under noise, a window cuts only when its throttled fraction exceeds the noise by this much. */
const NOISE_MARGIN = 0.1;
/** EWMA weight of a window in the noise estimate. */
const NOISE_WEIGHT = 0.25;
/** A run of cuts goes no deeper than this share of the rate it started from before it is judged. */
const EPISODE_DEPTH = 0.45;
/** A throttled share this high at the bottom of a run of cuts is taken as ours without a probe. */
const MAX_FOREIGN_FRACTION = 0.35;
/** Below this throttled share at the bottom of a run of cuts, the cuts were enough: no probe. */
const MIN_PROBE_FRACTION = 0.1;
/** A probe whose first half-window is throttled more than this ends at once: the limit is ours. */
const PROBE_ABORT_FRACTION = 0.5;

interface WindowStats {
  /** Throttled share of the answers. */
  readonly fraction: number;
  /** Answers that were not throttles, per second. */
  readonly accepted: number;
  /** Answers per second. */
  readonly sent: number;
}

/** A run of cuts: from the first throttle until a window without any, or until it is judged. */
interface Episode {
  readonly startRate: number;
  readonly startThrottledAt: number;
  /** Set while probing: the rate and window at the bottom of the cuts. */
  probe?: { readonly rate: number; readonly window: WindowStats };
}

interface Waiter {
  readonly buckets: readonly Bucket[];
  readonly enqueuedAt: number;
  readonly resolve: () => void;
}

class Bucket {
  effectiveRate: number;
  tokens: number;
  updatedAt: number;
  lastDecreaseAt = Number.NEGATIVE_INFINITY;
  lastIncreaseAt: number;
  /** The rate at which the last throttle hit: where the real quota probably is. */
  throttledAtRate = Number.POSITIVE_INFINITY;
  /** Waiters queued on this bucket (blocked on it at some point and not served yet). */
  readonly claimants = new Set<Waiter>();
  claimedInPass = 0;
  acquired = 0;
  waitedMs = 0;
  throttles = 0;
  /** Answers in the current measurement window. */
  windowStartedAt: number;
  windowAnswers = 0;
  windowThrottles = 0;
  episode: Episode | undefined;
  noise = 0;
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

  hasToken(): boolean {
    return this.tokens >= 1 - TOKEN_EPSILON;
  }

  /** Milliseconds until the next whole token, at the current rate. */
  msUntilToken(): number {
    return this.hasToken() ? 0 : ((1 - this.tokens) / this.effectiveRate) * 1000;
  }

  setRate(rate: number): void {
    this.effectiveRate = rate;
    this.tokens = Math.min(this.tokens, this.capacity());
  }

  windowStats(now: number): WindowStats {
    const seconds = Math.max(1e-3, (now - this.windowStartedAt) / 1000);
    return {
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

export class RateLimiter implements CallRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly waiters: Waiter[] = [];
  private readonly clock: LimiterClock;
  private readonly burstSeconds: number;
  private readonly decreaseFactor: number;
  private readonly minimumRateFraction: number;
  private readonly decreaseCooldownMs: number;
  private readonly recoveryMs: number;
  private readonly windowSamples: number;
  private passes = 0;
  private timer: { handle: TimerHandle; dueAt: number } | undefined;
  private totals = { acquired: 0, waited: 0, waitedMs: 0, throttles: 0 };

  constructor(private readonly options: RateLimiterOptions) {
    this.burstSeconds = options.burstSeconds ?? 0.5;
    this.decreaseFactor = options.decreaseFactor ?? 0.7;
    this.minimumRateFraction = options.minimumRateFraction ?? 0.25;
    this.decreaseCooldownMs = options.decreaseCooldownMs ?? 300;
    this.recoveryMs = options.recoveryMs ?? 20_000;
    this.windowSamples = options.windowSamples ?? 40;
    // Defaults look the globals up at call time so test fake timers apply.
    this.clock = {
      now: options.clock?.now ?? (() => performance.now()),
      setTimer: options.clock?.setTimer ?? ((callback, delayMs) => setTimeout(callback, delayMs)),
      clearTimer: options.clock?.clearTimer ?? ((handle) => clearTimeout(handle as NodeJS.Timeout)),
    };
    if (!(this.burstSeconds > 0)) throw new RangeError('burstSeconds must be > 0');
    if (!(this.decreaseFactor > 0 && this.decreaseFactor < 1))
      throw new RangeError('decreaseFactor in (0,1)');
    if (!(this.minimumRateFraction > 0 && this.minimumRateFraction <= 1)) {
      throw new RangeError('minimumRateFraction in (0,1]');
    }
  }

  /** Resolves once one token from every bucket in `keys` has been taken (all at once). */
  acquire(keys: readonly string[]): Promise<void> {
    const now = this.clock.now();
    const buckets = [...new Set(keys)].map((key) => this.bucket(key, now));
    if (buckets.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter: Waiter = { buckets, enqueuedAt: now, resolve };
      // The newest arrival is behind everyone already queued on its buckets, so only it needs checking;
      // earlier waiters are served by the timer. No waiting at all when the tokens are there.
      let ready = true;
      for (const bucket of buckets) {
        bucket.refill(now);
        if (!bucket.hasToken() || bucket.claimants.size > 0) {
          ready = false;
          bucket.claimants.add(waiter);
        }
      }
      if (ready) {
        this.grant(waiter, now);
        return;
      }
      this.waiters.push(waiter);
      this.schedule();
    });
  }

  /**
   * A call using these buckets was throttled: cut their rates (at most once per cooldown), unless their
   * throttles have been found to be mostly foreign, in which case the window decides (see module comment).
   */
  onThrottled(keys: readonly string[]): void {
    const now = this.clock.now();
    this.totals.throttles += 1;
    for (const key of new Set(keys)) {
      const bucket = this.bucket(key, now);
      bucket.throttles += 1;
      this.record(bucket, true, now);
      if (bucket.noise < NOISE_ACTIVE) this.cut(bucket, now);
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
      this.buckets.set(key, new Bucket(key, rate, this.burstSeconds, now));
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

  /** One multiplicative cut, within the current episode's depth; starts an episode if there is none. */
  private cut(bucket: Bucket, now: number): void {
    if (now - bucket.lastDecreaseAt < this.decreaseCooldownMs) return;
    const probe = bucket.episode?.probe;
    if (probe) {
      // The probe's window decides, unless it is already throttled more than any blip explains: then the
      // limit is ours, and the probe ends at once, back at the bottom of the cuts.
      if (!this.heavy(bucket, this.windowSamples / 2, PROBE_ABORT_FRACTION)) return;
      bucket.episode = undefined;
      bucket.refill(now);
      bucket.setRate(probe.rate);
      bucket.throttledAtRate = probe.rate;
      bucket.lastDecreaseAt = now;
      bucket.lastIncreaseAt = now;
      bucket.resetWindow(now + this.decreaseCooldownMs);
      return;
    }
    bucket.refill(now);
    const floor = bucket.configuredRate * this.minimumRateFraction;
    const start = bucket.episode?.startRate ?? bucket.effectiveRate;
    const next = Math.max(floor, bucket.effectiveRate * this.decreaseFactor);
    if (next >= bucket.effectiveRate - TOKEN_EPSILON) return; // at the floor
    if (next < start * EPISODE_DEPTH) {
      // At the episode's depth the next complete window decides (see record), unless the window so far is
      // already throttled more than any blip explains: then we are far above a real limit, and a new
      // episode from here lets the cuts go on at the classic pace.
      if (!this.heavy(bucket, this.windowSamples / 4, MAX_FOREIGN_FRACTION)) return;
      bucket.episode = undefined;
    }
    bucket.episode ??= { startRate: bucket.effectiveRate, startThrottledAt: bucket.throttledAtRate };
    bucket.throttledAtRate = bucket.effectiveRate;
    bucket.setRate(next);
    bucket.lastDecreaseAt = now;
    bucket.lastIncreaseAt = now;
    // Answers within the cooldown are to calls sent at the old rate: the next window starts after it.
    bucket.resetWindow(now + this.decreaseCooldownMs);
  }

  /** The current window is already throttled more than any blip explains. */
  private heavy(bucket: Bucket, minAnswers: number, fraction: number): boolean {
    return bucket.windowAnswers >= minAnswers && bucket.windowThrottles > fraction * bucket.windowAnswers;
  }

  /**
   * Counts one answer in the bucket's window and, once the window is complete, judges it:
   * - no throttle in it: the episode (if any) is over, our cuts were enough;
   * - the episode's cuts went as deep as they may and throttles go on: probe, i.e. go back to the rate the
   *   episode started from for one window. If what gets through grows with what we send, the throttles do
   *   not depend on our rate (foreign): stay there and remember their share as noise. If it does not, we
   *   are at a real limit: return to the bottom and go on cutting from there.
   * - under noise: cut only when the throttled share is clearly above it.
   */
  private record(bucket: Bucket, throttled: boolean, now: number): void {
    if (now < bucket.windowStartedAt) return;
    bucket.windowAnswers += 1;
    if (throttled) bucket.windowThrottles += 1;
    if (bucket.windowAnswers < this.windowSamples || now - bucket.windowStartedAt < this.decreaseCooldownMs) {
      return;
    }
    const window = bucket.windowStats(now);
    bucket.resetWindow(now);
    const episode = bucket.episode;
    if (episode?.probe) {
      bucket.episode = undefined;
      const low = episode.probe;
      const sentRatio = window.sent / Math.max(1e-9, low.window.sent);
      // Foreign throttles: accepted grows in proportion to sent; a real limit: accepted stays put. The
      // geometric mean of the two predictions separates them. When we hardly sent more (the calls waiting
      // on retries' backoff, not on the limiter), the probe proves nothing: keep the safe, lower rate.
      const conclusive = sentRatio >= 1.2;
      const foreign = conclusive && window.accepted >= low.window.accepted * Math.sqrt(sentRatio);
      bucket.refill(now);
      if (foreign) {
        bucket.throttledAtRate = episode.startThrottledAt;
        bucket.noise = Math.max(bucket.noise, Math.min(window.fraction, low.window.fraction));
        bucket.cutsUndone += 1;
      } else {
        bucket.setRate(low.rate);
        bucket.throttledAtRate = low.rate;
        bucket.noise = 0;
        bucket.lastDecreaseAt = now;
        bucket.lastIncreaseAt = now;
        bucket.resetWindow(now + this.decreaseCooldownMs);
      }
      return;
    }
    // A window without throttles, or with only the stragglers sent before the last cut: the cuts were enough.
    if (window.fraction < MIN_PROBE_FRACTION) bucket.episode = undefined;
    if (bucket.episode && window.fraction >= MIN_PROBE_FRACTION) {
      const episode = bucket.episode;
      const floor = bucket.configuredRate * this.minimumRateFraction;
      const atBottom =
        bucket.effectiveRate * this.decreaseFactor < episode.startRate * EPISODE_DEPTH ||
        bucket.effectiveRate <= floor + TOKEN_EPSILON;
      if (atBottom && window.fraction > MAX_FOREIGN_FRACTION) {
        // Throttled this often even after the cuts: no blip does that, we are far above a real limit. A
        // new episode from here lets the cuts go on without the cost of a probe.
        bucket.episode = undefined;
      } else if (atBottom && bucket.effectiveRate < episode.startRate) {
        episode.probe = { rate: bucket.effectiveRate, window };
        bucket.refill(now);
        bucket.setRate(episode.startRate);
        bucket.lastIncreaseAt = now;
        bucket.resetWindow(now + this.decreaseCooldownMs);
        if (this.waiters.length > 0) this.schedule();
        return;
      }
    }
    if (bucket.noise >= NOISE_ACTIVE) {
      if (window.fraction > bucket.noise + NOISE_MARGIN) {
        // Clearly more throttles than the noise: part of them are ours.
        this.cut(bucket, now);
        return;
      }
      // Only probes raise the noise; between them it follows the measured share down (to nothing once the
      // blips stop), never up: following it up would let a slowly growing real overload pass for noise.
      bucket.noise = Math.min(bucket.noise, bucket.noise + NOISE_WEIGHT * (window.fraction - bucket.noise));
      if (bucket.noise < NOISE_ACTIVE) bucket.noise = 0;
    }
  }

  /** A call using these buckets got through: raise their rates linearly in time back toward the quota. */
  onSuccess(keys: readonly string[]): void {
    const now = this.clock.now();
    let raised = false;
    for (const key of new Set(keys)) {
      const bucket = this.bucket(key, now);
      this.record(bucket, false, now);
      // A probe measures one rate: no additive increase under it.
      if (bucket.episode?.probe) {
        bucket.lastIncreaseAt = now;
        continue;
      }
      if (bucket.effectiveRate < bucket.configuredRate) {
        bucket.refill(now);
        let step = (bucket.configuredRate * Math.max(0, now - bucket.lastIncreaseAt)) / this.recoveryMs;
        // Near the rate that was throttled last, probe slowly: the real quota is probably just there.
        if (bucket.effectiveRate >= PROBE_THRESHOLD * bucket.throttledAtRate) step *= PROBE_SPEED;
        bucket.setRate(Math.min(bucket.configuredRate, bucket.effectiveRate + step));
        raised = true;
      }
      bucket.lastIncreaseAt = now;
    }
    if (raised && this.waiters.length > 0) this.schedule();
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
      bucket = new Bucket(key, rate, this.burstSeconds, now);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  /** Serves every waiter that can be served now, in arrival order, then sets the timer for the rest. */
  private serve(): void {
    const now = this.clock.now();
    const pass = ++this.passes;
    let remaining = 0;
    for (const waiter of this.waiters) {
      let ready = true;
      for (const bucket of waiter.buckets) {
        bucket.refill(now);
        // `claimedInPass === pass`: an earlier waiter, still waiting after this pass looked at it, claims it.
        if (!bucket.hasToken() || bucket.claimedInPass === pass) {
          ready = false;
          bucket.claimants.add(waiter);
        }
      }
      if (ready) {
        this.grant(waiter, now);
      } else {
        for (const bucket of waiter.buckets) if (bucket.claimants.has(waiter)) bucket.claimedInPass = pass;
        this.waiters[remaining++] = waiter;
      }
    }
    this.waiters.length = remaining;
    this.schedule();
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
      if (!bucket.hasToken()) delayMs = Math.min(delayMs, bucket.msUntilToken());
    }
    // Unreachable in theory (the earliest waiter is always blocked on an empty bucket); a short retry
    // beats a stuck queue if that reasoning ever breaks.
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
