import {
  MIN_PROBE_FRACTION,
  NOISE_ACTIVE,
  noiseMargin,
  probeVerdict,
  SIGNIFICANT_SIGMAS,
} from './throttle-statistics';
import { type Bucket, type Episode, TOKEN_EPSILON, type WindowStats } from './token-bucket';

/**
 * The adaptive (AIMD) side of the rate limiter (rate-limiter.ts): how a bucket's rate answers throttles
 * and successes. The limiter owns the queue and calls this on every answer.
 *
 * Throttles that are not ours: a 429 from a service blip or from another client of the account quota is not a
 * sign that our rate is too high, and cutting for it only starves our queue (measured before this existed:
 * 20% random 429s kept onboarding at the floor, 0.125 of the quota). So a run of cuts (an episode) may go no
 * deeper than EPISODE_DEPTH of the rate it started from before it is judged on a measurement window (at least
 * `windowSamples` answers). A window without throttles ends it: the cuts were enough. If the throttles go on
 * at the bottom, a probe goes back to the starting rate for one window: when what gets through grows with
 * what we send, the throttles did not depend on our rate, so the rate stays there and their share is
 * remembered as foreign noise, under which throttles only cut when a window's share climbs significantly
 * above it. When what gets through stays put, we are at a real limit (a competitor took part of the quota):
 * back to the bottom, and the cuts go on from there. When our demand, not the limiter, set what we sent
 * (batches smaller than the rate allows: the probe sent hardly more), the throttled shares decide instead.
 * Either way, a probe's share significantly higher than the bottom's is ours: other processes of the same
 * quota cutting while it ran let more of ours through. An episode that began at (or near) the floor probes
 * too, up to where the episode's depth reaches; without that, throttles that come whatever the rate held the
 * floor for good. A probe barely throttled at the higher rate keeps that rate but proves no share: whatever
 * throttled the bottom changed meanwhile. Between probes the noise estimate follows the measured shares (an
 * EWMA) but never above the share the last probe proved foreign: it fades within a few windows once the blips
 * stop, and a slowly growing real overload cannot pass for noise. (Following the shares down only, it drifted
 * to a low quantile of them, ~0.15 under 20% random 429s, and 1 window in 6 then cut.) The account bucket
 * sees every call and proves a foreign share first; the other buckets take it (`adoptNoise`), and a probe
 * throttled within it counts as foreign. A proven share is re-checked now and then one cut lower (a dip, see
 * startDip): a probe's proof can be won by other processes cutting while it ran, and such a share, taken as
 * foreign, kept this process above its part of a shared quota for good. Safety nets keep the classic speed
 * where no blip can be the cause: a window throttled more than MAX_FOREIGN_FRACTION lets the cuts go past the
 * depth, a probe throttled more than PROBE_ABORT_FRACTION ends at once, a bottom window with fewer than
 * MIN_PROBE_FRACTION throttles (stragglers) ends the episode without a probe, and no additive increase runs
 * under a probe.
 */

/** Above this fraction of the last throttled rate, the additive increase slows to PROBE_SPEED. */
const PROBE_THRESHOLD = 0.9;
const PROBE_SPEED = 0.2;
/** EWMA weight of a window in the noise estimate. */
const NOISE_WEIGHT = 0.25;
/** A run of cuts goes no deeper than this share of the rate it started from before it is judged. */
const EPISODE_DEPTH = 0.45;
/** A throttled share this high at the bottom of a run of cuts is taken as ours without a probe. */
const MAX_FOREIGN_FRACTION = 0.35;
/** A probe whose first half-window is throttled more than this ends at once: the limit is ours. */
const PROBE_ABORT_FRACTION = 0.5;
/** A proven foreign share is re-checked one cut lower at most this often, and after this many windows. */
const RECHECK_MS = 10_000;
const RECHECK_WINDOWS = 10;
/** Windows a re-check lasts. */
const DIP_WINDOWS = 2;

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
    if (bucket.episode?.probe || bucket.dip) {
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
    bucket.noiseCheckedAt = now;
    bucket.windowsSinceCheck = 0;
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
    bucket.windowsSinceCheck += 1;
    if (bucket.dip) {
      this.judgeDip(bucket, window, now);
      return;
    }
    const episode = bucket.episode;
    if (episode?.probe) {
      bucket.episode = undefined;
      const low = episode.probe;
      const verdict = probeVerdict(window, low.window, this.provenElsewhere(bucket));
      bucket.refill(now);
      if (verdict === 'gone') {
        bucket.throttledAtRate = episode.startThrottledAt;
        bucket.cutsUndone += 1;
        return;
      }
      const foreign = verdict === 'foreign';
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
        bucket.noiseCheckedAt = now;
        bucket.windowsSinceCheck = 0;
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
      } else if (
        window.fraction >= MIN_PROBE_FRACTION &&
        now - bucket.noiseCheckedAt >= RECHECK_MS &&
        bucket.windowsSinceCheck >= RECHECK_WINDOWS
      ) {
        this.startDip(bucket, now);
      }
    }
  }

  /**
   * Re-checks a proven foreign share one cut lower, for DIP_WINDOWS windows. A probe can prove a share
   * foreign that is not: when other processes draw on the same quota, they cut while our probe runs, and
   * more of ours gets through at the same throttled share (measured in the deployed bench's competitor
   * phase on a busy machine: three tenants' processes, probes throttled 0.1-0.125 like the bottom of their
   * cuts proved foreign shares of 0.11-0.2, and our throttled share stayed at 17% until the syncs ended).
   * Foreign throttles keep their share one cut lower; a real limit's throttles thin out there, and then the
   * share is forgotten and the cuts go on from the lower rate.
   */
  private startDip(bucket: Bucket, now: number): void {
    bucket.dip = { rate: bucket.effectiveRate, noise: bucket.noise, answers: 0, throttles: 0 };
    bucket.refill(now);
    bucket.setRate(Math.max(this.floor(bucket), bucket.effectiveRate * this.decreaseFactor));
    bucket.lastIncreaseAt = now;
    bucket.resetWindow(now + this.decreaseCooldownMs);
  }

  private judgeDip(bucket: Bucket, window: WindowStats, now: number): void {
    const dip = bucket.dip as NonNullable<Bucket['dip']>;
    dip.answers += window.answers;
    dip.throttles += Math.round(window.fraction * window.answers);
    if (dip.answers < DIP_WINDOWS * this.windowSamples) return;
    bucket.dip = undefined;
    bucket.noiseCheckedAt = now;
    bucket.windowsSinceCheck = 0;
    const share = dip.throttles / dip.answers;
    const standardError = Math.sqrt((dip.noise * (1 - dip.noise)) / dip.answers);
    const ours = share < dip.noise - SIGNIFICANT_SIGMAS * standardError;
    bucket.refill(now);
    if (ours) {
      bucket.noise = 0;
      bucket.noiseCeiling = 0;
      bucket.throttledAtRate = dip.rate;
      bucket.lastIncreaseAt = now;
      return;
    }
    bucket.setRate(dip.rate);
    bucket.lastIncreaseAt = now;
    this.wake();
  }
}
