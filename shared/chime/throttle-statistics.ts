/**
 * The statistics the adaptive rate (adaptive-rate.ts) judges its measurement windows with: is a share of
 * throttles significantly higher than another, how far above a foreign share a window must be to cut, and
 * what a probe's window says of the throttles the bottom of a run of cuts saw. Pure functions of the
 * windows' counts, table-tested.
 */
import type { WindowStats } from './token-bucket';

/** Noise below this is treated as none: every throttle cuts at once (the classic AIMD path). */
export const NOISE_ACTIVE = 0.02;
/**
 * Under noise, a window cuts only when its throttled fraction exceeds the noise by this much, and by
 * NOISE_SIGMAS standard errors of a window of its size (40 answers at 20% noise: 0.19). With the margin
 * alone, one 40-answer window in 25 of pure noise cut; the account bucket, which sees every call, completes
 * several windows a second, so that was a cut every few seconds.
 */
const NOISE_MARGIN = 0.1;
const NOISE_SIGMAS = 3;
/** Below this throttled share at the bottom of a run of cuts, the cuts were enough: no probe. */
export const MIN_PROBE_FRACTION = 0.1;
/** A probe that sent less than this times the bottom window's rate is judged on throttled shares alone. */
const PROBE_MIN_SENT_RATIO = 1.2;
/** Standard errors by which a probe's throttled share must exceed the bottom window's to count as ours. */
export const SIGNIFICANT_SIGMAS = 2;
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

/**
 * What a probe's window (at the rate an episode started from) says of the throttles its bottom window (at
 * the bottom of the cuts) saw, given the foreign share the reference bucket has proven (0: none):
 * - `foreign`: they do not depend on our rate; remember their share as noise.
 * - `gone`: they did not depend on our rate either, but they are gone (the probe's window is barely
 *   throttled): whatever caused them changed meanwhile, there is no share to remember.
 * - `ours`: a real limit; back to the bottom.
 * Foreign throttles: accepted grows in proportion to sent; a real limit: accepted stays put. The geometric
 * mean of the two predictions separates them. When we hardly sent more, our demand set what we sent, not
 * the limiter (a batch waiting for its slowest records, a backlog smaller than the rate): the sent rates say
 * nothing, the throttled shares still do. A real limit throttles a larger share of the larger bursts the
 * higher rate lets through; throttles that do not depend on our rate keep their share. Taking such a probe
 * as "ours" by default ratcheted the rate down to its floor, one episode after the other (measured:
 * onboarding under 20% random 429s at 0.25 of its quota). A share significantly higher than the bottom's is
 * ours even when more got through: other processes drawing on the same quota cut while the probe ran (or the
 * server's bucket refilled while we sat at the bottom), and the probe's accepted calls grew for that reason
 * (in a simulation of three processes sharing a quota with a steady foreign client, probes throttled
 * 0.3-0.4 after bottoms at 0.1-0.2 were taken as foreign, and the processes holding such a share kept their
 * whole rate while the third sat at its floor).
 * A probe throttled no more than the foreign share the reference bucket (every call) has proven is explained
 * by it: one probe's window is small, and a probe wrongly judged "ours" sent the bucket back to the bottom of
 * its cuts, without noise, climbing slowly (measured: faulty onboarding passes of the same code between 0.40
 * and 0.64 of the quota, the low ones with buckets stuck there for seconds).
 * A `gone` taken as noise (as it once was) made throttles up to noise + margin stop cutting, and the process
 * kept more than its part of a quota others still shared.
 */
export function probeVerdict(
  probe: WindowStats,
  bottom: WindowStats,
  provenElsewhere: number,
): 'foreign' | 'gone' | 'ours' {
  const sentRatio = probe.sent / Math.max(1e-9, bottom.sent);
  const explained =
    provenElsewhere >= NOISE_ACTIVE &&
    probe.fraction <= provenElsewhere + noiseMargin(provenElsewhere, probe.answers);
  const foreign =
    explained ||
    (!significantlyMoreThrottled(probe, bottom) &&
      (sentRatio < PROBE_MIN_SENT_RATIO || probe.accepted >= bottom.accepted * Math.sqrt(sentRatio)));
  if (!foreign) return 'ours';
  return probe.fraction < MIN_PROBE_FRACTION ? 'gone' : 'foreign';
}

/** How far above the noise a window's throttled share must be to cut: NOISE_MARGIN, or NOISE_SIGMAS standard errors. */
export function noiseMargin(noise: number, answers: number): number {
  const standardError = Math.sqrt((noise * (1 - noise)) / Math.max(1, answers));
  return Math.max(NOISE_MARGIN, NOISE_SIGMAS * standardError);
}
