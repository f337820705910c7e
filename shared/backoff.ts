/**
 * How long retries wait: the one backoff rule of the project (Chime retries, SQS sends and visibility,
 * DynamoDB unprocessed items, EventBridge failed entries all use `backoff`).
 */
export interface Backoff {
  /** The first retry's ceiling, in whatever unit the caller uses (ms for sleeps, s for visibility). */
  readonly base: number;
  readonly cap: number;
  /**
   * `full` (default): uniform in [0, ceiling), which spreads concurrent retries best (AWS Architecture Blog,
   * "Exponential Backoff And Jitter"). `equal`: half fixed and half random, for a queue message that must
   * really wait (full jitter could bring it back at once) yet come back spread out.
   */
  readonly jitter?: 'full' | 'equal';
}

/**
 * Exponential backoff with jitter: the ceiling is min(cap, base × 2^(attempt-1)), `attempt` 1 for the
 * first retry. Absurd attempts (NaN, 0, 10⁶) count as 1 or reach the cap; never throws.
 */
export function backoff(attempt: number, policy: Backoff, random: () => number = Math.random): number {
  const n = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : 1;
  // 2^(n-1) overflows to Infinity for absurd counts; min() then returns the cap, as wanted.
  const ceiling = Math.min(policy.cap, policy.base * 2 ** (n - 1));
  return policy.jitter === 'equal' ? ceiling / 2 + random() * (ceiling / 2) : random() * ceiling;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** ChangeMessageVisibility accepts 0..43200 seconds (12 hours). */
export const MAX_VISIBILITY_SECONDS = 43_200;

/** Where a queue's retry delay comes from (configured per queue, see shared/config.ts). */
export interface VisibilityBackoff {
  readonly baseSeconds: number;
  readonly capSeconds: number;
}

/**
 * The visibility timeout for a message that failed on its `receiveCount`-th delivery: `backoff` with equal
 * jitter, in whole seconds from 1 to SQS's maximum, as ChangeMessageVisibility wants.
 */
export function visibilityDelaySeconds(
  receiveCount: number,
  policy: VisibilityBackoff,
  random: () => number = Math.random,
): number {
  const seconds = Math.ceil(
    backoff(receiveCount, { base: policy.baseSeconds, cap: policy.capSeconds, jitter: 'equal' }, random),
  );
  return Math.min(MAX_VISIBILITY_SECONDS, Math.max(1, seconds));
}
