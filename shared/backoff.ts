/** How long retries wait: the one backoff rule of the project (Chime retries, SQS, DynamoDB, EventBridge). */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
}

/**
 * Full-jitter exponential backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"): a uniform delay
 * in [0, min(cap, base × 2^(attempt-1))). `attempt` is 1 for the first retry. Full jitter spreads concurrent
 * retries best, which is what matters when many workers hit the same quota.
 */
export function fullJitterBackoffMs(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** ChangeMessageVisibility accepts 0..43200 seconds (12 hours). */
export const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * The visibility timeout for a queue message that failed on its `receiveCount`-th delivery: exponential in
 * the receive count (base, 2×base, 4×base, ... up to the cap) with "equal jitter": half of it fixed, so a
 * throttled message really waits (full jitter could bring it back at once), and half random, so messages
 * throttled together come back spread out. Whole seconds, at least 1, as ChangeMessageVisibility wants.
 */
export function retryVisibilitySeconds(
  receiveCount: number,
  policy: { readonly baseSeconds: number; readonly capSeconds: number },
  random: () => number = Math.random,
): number {
  const attempt = Number.isFinite(receiveCount) ? Math.max(1, Math.floor(receiveCount)) : 1;
  // 2^(attempt-1) overflows to Infinity for absurd counts; min() then returns the cap, as wanted.
  const ceiling = Math.min(policy.capSeconds, policy.baseSeconds * 2 ** (attempt - 1));
  const seconds = Math.ceil(ceiling / 2 + random() * (ceiling / 2));
  return Math.min(MAX_VISIBILITY_SECONDS, Math.max(1, seconds));
}
