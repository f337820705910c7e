/** The onboarding soak's knobs (environment, see BENCHMARKS.md) and fixed sizes. */

export const COUNT = Number(process.env.BENCH_ONBOARDING_COUNT ?? 10_000);
export const TENANTS = 5;
/** Which passes to run: `clean`, `faulty` or both (BENCH_ONBOARDING_PASSES, comma-separated). */
export const PASSES = (process.env.BENCH_ONBOARDING_PASSES ?? 'clean,faulty')
  .split(',')
  .map((name) => name.trim());
/**
 * The longest retry delay of a failed message in the soak (the product default is 300 s). Throughput under
 * faults is not a goal; a shorter cap keeps the pass's tail from being minutes of messages waiting out their
 * backoff, so 10,000 faulty requests finish in one sitting.
 */
export const RETRY_CAP_SECONDS = process.env.BENCH_ONBOARDING_RETRY_CAP_SECONDS ?? '30';
export const DUPLICATE_SHARE = 0.2;
export const QUOTA_SCALE = Number(process.env.BENCH_ONBOARDING_QUOTA_SCALE ?? 1);
/** The clean pass's ceiling runs with the quotas lifted this far: far above what two cores carry. */
export const CEILING_QUOTA_SCALE = 1_000;
/**
 * Pollers × 10 messages is the work in flight. Kept small enough that a record's wait in the rate limiter
 * stays far below the function timeout even when faults slow the limiter down: a record that outlives its
 * invocation (the local runner cannot kill it, as Lambda would) can run a second time after its
 * in-progress idempotency record expires.
 */
export const CONCURRENCY = 8;
/** A pass gives up after this long; anything not done by then counts as lost. */
export const PASS_TIMEOUT_MS = Math.max(150_000, COUNT * 240);
