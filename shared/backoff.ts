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
