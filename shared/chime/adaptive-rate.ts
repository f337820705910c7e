import { type Bucket, type Episode, TOKEN_EPSILON, type WindowStats } from './token-bucket';

/**
 * The adaptive (AIMD) side of the rate limiter (rate-limiter.ts): how a bucket's rate answers throttles
 * and successes. The limiter owns the queue and calls this on every answer.
 *
 * Throttles that are not ours: a 429 from a service blip or from another client of the account quota is not
 * a sign that our rate is too high, and cutting for it only starves our queue (measured before this existed:
 * 20% random 429s kept onboarding at the floor, 0.125 of the quota). So a run of cuts (an episode) may go
 * no deeper than EPISODE_DEPTH of the rate it started from before it is judged on a measurement window
 * (at least `windowSamples` answers). A window without throttles ends it: the cuts were enough. If the
 * throttles go on at the bottom, a probe goes back to the starting rate for one window: when what gets
 * through grows with what we send, the throttles did not depend on our rate, so the rate stays there and
 * their share is remembered as foreign noise, under which throttles only cut when a window's share climbs
 * significantly above it. When what gets through stays put, we are at a real limit (a competitor took part
 * of the quota): back to the bottom, and the cuts go on from there. When our demand, not the limiter, set what we
 * sent (batches smaller than the rate allows: the probe sent hardly more), the throttled shares decide
 * instead: foreign unless the probe's share is significantly higher. An episode that began at (or near) the
 * floor probes too, up to where the episode's depth reaches; without that, throttles that come whatever the
 * rate held the floor for good. Between probes the noise estimate follows the measured shares (an EWMA)
 * but never above the share the last probe proved foreign: it fades within a few windows once the blips
 * stop, and a slowly growing real overload cannot pass for noise. (Following the shares down only, it
 * drifted to a low quantile of them, ~0.15 under 20% random 429s, and 1 window in 6 then cut.) The account
 * bucket sees every call and proves a foreign share first; the other buckets take it (`adoptNoise`), and a
 * probe throttled within it counts as foreign. Safety nets keep the classic speed where no blip can be the
 * cause: a window throttled more than MAX_FOREIGN_FRACTION lets the cuts go past the depth, a probe
 * throttled more than PROBE_ABORT_FRACTION ends at once, a bottom window with fewer than MIN_PROBE_FRACTION
 * throttles (stragglers) ends the episode without a probe, and no additive increase runs under a probe.
 */

/** Above this fraction of the last throttled rate, the additive increase slows to PROBE_SPEED. */
const PROBE_THRESHOLD = 0.9;
const PROBE_SPEED = 0.2;
/** Noise below this is treated as none: every throttle cuts at once (the classic AIMD path). */
const NOISE_ACTIVE = 0.02;
/**
 * Under noise, a window cuts only when its throttled fraction exceeds the noise by this much, and by
 * NOISE_SIGMAS standard errors of a window of its size (40 answers at 20% noise: 0.19). With the margin
 * alone, one 40-answer window in 25 of pure noise cut; the account bucket, which sees every call, completes
 * several windows a second, so that was a cut every few seconds.
 */
const NOISE_MARGIN = 0.1;
const NOISE_SIGMAS = 3;
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
/** A probe that sent less than this times the bottom window's rate is judged on throttled shares alone. */
const PROBE_MIN_SENT_RATIO = 1.2;
/** Standard errors by which a probe's throttled share must exceed the bottom window's to count as ours. */
const SIGNIFICANT_SIGMAS = 2;

/**
 * The probe window was throttled significantly more often than the bottom window (a two-proportion z test
 * on the pooled share): two windows of 40 answers under the same 20% random 429s differ by more than 0.1
 * one time in eight, by more than 2 standard errors (about 0.18) one time in forty.
 */
export function significantlyMoreThrottled(probe: WindowStats, bottom: WindowStats): boolean {
  const answers = probe.answers + bottom.answers;
  if (probe.answers === 0 || bottom.answers === 0) return false;
  const pooled = (probe.fraction * probe.answers + bottom.fraction * bottom.answers) / answers;
  const standardError = Math.sqrt(pooled * (1 - pooled) * (1 / probe.answers + 1 / bottom.answers));
  return probe.fraction - bottom.fraction > SIGNIFICANT_SIGMAS * standardError;
}

/** How far above the noise a window's throttled share must be to cut: NOISE_MARGIN, or NOISE_SIGMAS standard errors. */
export function noiseMargin(noise: number, answers: number): number {
  const standardError = Math.sqrt((noise * (1 - noise)) / Math.max(1, answers));
  return Math.max(NOISE_MARGIN, NOISE_SIGMAS * standardError);
}

/** The limiter's options that shape the adaptation, with their defaults applied (see RateLimiterOptions). */
export interface AdaptiveRateSettings {
  readonly decreaseFactor: number;
  readonly minimumRateFraction: number;
  readonly decreaseCooldownMs: number;
  readonly recoveryMs: number;
  readonly windowSamples: number;
}

export class AdaptiveRate {
  private readonly decreaseFactor: number;
  private readonly minimumRateFraction: number;
  private readonly decreaseCooldownMs: number;
  private readonly recoveryMs: number;
  private readonly windowSamples: number;

  /**
   * `wake` re-checks the queue after a bucket's rate went up (the limiter's timer may be set too late);
   * `proven` hears of every bucket whose probe has just proved its throttles foreign; `provenElsewhere`
   * answers the foreign share the reference bucket has proven, for the other buckets (0: none).
   */
  constructor(
    settings: AdaptiveRateSettings,
    private readonly wake: () => void,
    private readonly proven: (bucket: Bucket, now: number) => void = () => {},
    private readonly provenElsewhere: (bucket: Bucket) => number = () => 0,
  ) {
    this.decreaseFactor = settings.decreaseFactor;
    this.minimumRateFraction = settings.minimumRateFraction;
    this.decreaseCooldownMs = settings.decreaseCooldownMs;
    this.recoveryMs = settings.recoveryMs;
    this.windowSamples = settings.windowSamples;
  }

  /**
   * A call using this bucket was throttled: cut its rate (at most once per cooldown), unless its throttles
   * have been found to be mostly foreign, in which case the window decides (see the module comment).
   */
  throttled(bucket: Bucket, now: number): void {
    this.record(bucket, true, now);
    if (bucket.noise < NOISE_ACTIVE) this.cut(bucket, now);
  }

  /**
   * A call using this bucket got through: raise its rate linearly in time back toward the quota. Answers
   * whether the rate went up (the limiter then re-checks its queue).
   */
  succeeded(bucket: Bucket, now: number): boolean {
    this.record(bucket, false, now);
    // A probe measures one rate: no additive increase under it.
    if (bucket.episode?.probe) {
      bucket.lastIncreaseAt = now;
      return false;
    }
    let raised = false;
    if (bucket.effectiveRate < bucket.configuredRate) {
      bucket.refill(now);
      let step = (bucket.configuredRate * Math.max(0, now - bucket.lastIncreaseAt)) / this.recoveryMs;
      // Near the rate that was throttled last, probe slowly: the real quota is probably just there.
      if (bucket.effectiveRate >= PROBE_THRESHOLD * bucket.throttledAtRate) step *= PROBE_SPEED;
      bucket.setRate(Math.min(bucket.configuredRate, bucket.effectiveRate + step));
      raised = true;
    }
    bucket.lastIncreaseAt = now;
    return raised;
  }

  /**
   * `bucket` takes the foreign share `reference` has proven. Throttles that are not ours come from the
   * service or another client, not from one AppInstance's quota, and the reference (the account bucket)
   * sees every call, so it completes its windows several times faster than a per-AppInstance bucket: when
   * throttles start whatever the rate, each AppInstance's bucket would otherwise cut to the episode's depth
   * and probe on its own (measured: the first seconds of a faulty onboarding pass of new tenants at half
   * the later rate). A run of cuts in progress is undone as a probe proving it foreign would; a probe in
   * progress still decides for itself. The bucket's own windows go on judging: throttles significantly
   * above the adopted share still cut, and its own probe finding them ours resets its noise.
   */
  adoptNoise(bucket: Bucket, reference: Bucket, now: number): void {
    if (reference.noiseCeiling <= bucket.noiseCeiling) return;
    bucket.noiseCeiling = reference.noiseCeiling;
    bucket.noise = Math.min(bucket.noiseCeiling, Math.max(bucket.noise, reference.noise));
    const episode = bucket.episode;
    if (!episode || episode.probe) return;
    bucket.episode = undefined;
    bucket.refill(now);
    if (episode.startRate > bucket.effectiveRate) {
      bucket.setRate(Math.min(bucket.configuredRate, episode.startRate));
      bucket.cutsUndone += 1;
      this.wake();
    }
    bucket.throttledAtRate = episode.startThrottledAt;
    bucket.resetWindow(now);
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
    const start = bucket.episode?.startRate ?? bucket.effectiveRate;
    const next = Math.max(this.floor(bucket), bucket.effectiveRate * this.decreaseFactor);
    if (this.nearFloor(bucket)) {
      // Nothing worth a cut is left (the rate goes back to the floor), but the throttles still need judging.
      // So no new window: these small cuts, re-enabled by the additive increase after every cooldown, each
      // restarted it, and no window ever completed. And an episode: without one no window probes, and
      // throttles that come whatever the rate held the floor for good.
      bucket.episode ??= { startRate: bucket.effectiveRate, startThrottledAt: bucket.throttledAtRate };
      bucket.throttledAtRate = bucket.effectiveRate;
      bucket.setRate(next);
      bucket.lastDecreaseAt = now;
      bucket.lastIncreaseAt = now;
      return;
    }
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

  private floor(bucket: Bucket): number {
    return bucket.configuredRate * this.minimumRateFraction;
  }

  /** So close to the floor that a cut would take off less than half of what a cut takes. */
  private nearFloor(bucket: Bucket): boolean {
    return ((1 + this.decreaseFactor) / 2) * bucket.effectiveRate <= this.floor(bucket) + TOKEN_EPSILON;
  }

  /**
   * The rate a probe goes back to: the one the episode started from, or, when that was already at (or
   * near) the floor, as high as the episode's depth reaches from where we are. Without the second, an
   * episode that started at the floor could never probe, and under throttles that keep coming whatever
   * the rate (each one cuts while the noise is unknown) the floor held for good.
   */
  private probeRate(bucket: Bucket, episode: Episode): number {
    return Math.max(episode.startRate, Math.min(bucket.configuredRate, bucket.effectiveRate / EPISODE_DEPTH));
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
      // geometric mean of the two predictions separates them. When we hardly sent more, our demand set what
      // we sent, not the limiter (a batch waiting for its slowest records, a backlog smaller than the rate):
      // the sent rates say nothing, the throttled shares still do. A real limit throttles a larger share of
      // the larger bursts the higher rate lets through; throttles that do not depend on our rate keep their
      // share. Taking such a probe as "ours" by default ratcheted the rate down to its floor, one episode
      // after the other (measured: onboarding under 20% random 429s at 0.25 of its quota).
      // A probe throttled no more than the foreign share the reference bucket (every call) has proven is
      // explained by it: one probe's window is small, and a probe wrongly judged "ours" sent the bucket back
      // to the bottom of its cuts, without noise, climbing slowly (measured: faulty onboarding passes of the
      // same code between 0.40 and 0.64 of the quota, the low ones with buckets stuck there for seconds).
      const elsewhere = this.provenElsewhere(bucket);
      const explained =
        elsewhere >= NOISE_ACTIVE && window.fraction <= elsewhere + noiseMargin(elsewhere, window.answers);
      const foreign =
        explained ||
        (sentRatio >= PROBE_MIN_SENT_RATIO
          ? window.accepted >= low.window.accepted * Math.sqrt(sentRatio)
          : !significantlyMoreThrottled(window, low.window));
      bucket.refill(now);
      if (foreign) {
        bucket.throttledAtRate = episode.startThrottledAt;
        // Both windows measured the same foreign share: their pooled share estimates it, and the ceiling is
        // its upper confidence bound. A ceiling at the estimate itself sat below the true share half the
        // time (two windows of ~40 answers: 0.2 ± 0.045), and a noise estimate held under the true share
        // cut on windows of pure noise again (measured: noise held at 0.13 under 20% random 429s, 1 window
        // in 12 cut).
        const answers = window.answers + low.window.answers;
        const pooled =
          (window.fraction * window.answers + low.window.fraction * low.window.answers) /
          Math.max(1, answers);
        const upperBound =
          pooled + SIGNIFICANT_SIGMAS * Math.sqrt((pooled * (1 - pooled)) / Math.max(1, answers));
        bucket.noiseCeiling = Math.max(bucket.noiseCeiling, upperBound);
        bucket.noise = Math.min(bucket.noiseCeiling, Math.max(bucket.noise, pooled));
        bucket.cutsUndone += 1;
        this.proven(bucket, now);
      } else {
        bucket.setRate(low.rate);
        bucket.throttledAtRate = low.rate;
        bucket.noise = 0;
        bucket.noiseCeiling = 0;
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
      const atBottom =
        bucket.effectiveRate * this.decreaseFactor < episode.startRate * EPISODE_DEPTH ||
        this.nearFloor(bucket);
      if (atBottom && window.fraction > MAX_FOREIGN_FRACTION) {
        // Throttled this often even after the cuts: no blip does that, we are far above a real limit. A
        // new episode from here lets the cuts go on without the cost of a probe.
        bucket.episode = undefined;
      } else if (atBottom && bucket.effectiveRate < this.probeRate(bucket, episode)) {
        episode.probe = { rate: bucket.effectiveRate, window };
        bucket.refill(now);
        bucket.setRate(this.probeRate(bucket, episode));
        bucket.lastIncreaseAt = now;
        bucket.resetWindow(now + this.decreaseCooldownMs);
        this.wake();
        return;
      }
    }
    if (bucket.noise >= NOISE_ACTIVE) {
      if (window.fraction > bucket.noise + noiseMargin(bucket.noise, window.answers)) {
        // Significantly more throttles than the noise: part of them are ours.
        this.cut(bucket, now);
        return;
      }
      // The noise follows the measured shares (to nothing once the blips stop), but no higher than the last
      // probe proved foreign: above that, a slowly growing real overload would pass for noise.
      const next = bucket.noise + NOISE_WEIGHT * (window.fraction - bucket.noise);
      bucket.noise = Math.min(bucket.noiseCeiling, next);
      if (bucket.noise < NOISE_ACTIVE) {
        bucket.noise = 0;
        bucket.noiseCeiling = 0;
      }
    }
  }
}
