/** The deployed-shape bench's knobs (environment, see BENCHMARKS.md) and fixed sizes. */
import { positiveFromEnv } from '../lib';

export const SCALE = positiveFromEnv('BENCH_DEPLOYED_QUOTA_SCALE', 20);
export const SYNC_USERS = Math.round(positiveFromEnv('BENCH_DEPLOYED_SYNC_USERS', 6_000));
// Enough for a throughput: at the 1,000 creates/s of scale 20 a pass lasts about 20 s, so the first
// invocation's start (the batching window) weighs little.
export const ONBOARDING_COUNT = Math.round(positiveFromEnv('BENCH_DEPLOYED_ONBOARDING_COUNT', 20_000));
export const ONBOARDING_TENANTS = 5;
export const SMALL_TENANTS = 20;
export const SMALL_USERS = 200;
export const BIG_USERS = Math.round(positiveFromEnv('BENCH_DEPLOYED_BIG_USERS', 20_000));
/** Our tenants beside the competitor: enough users that their first syncs want more than half the account quota for well over its run. */
export const COMPETED_TENANTS = 3;
export const COMPETED_USERS = Math.round(positiveFromEnv('BENCH_DEPLOYED_COMPETED_USERS', 12_000));
export const COMPETITOR_SECONDS = positiveFromEnv('BENCH_DEPLOYED_COMPETITOR_SECONDS', 75);
/** Our syncs run alone first, until they use the whole account quota (at most this long), before the competitor arrives. */
export const COMPETITOR_LEAD_SECONDS = 30;
/** The goal's judgement starts this long after the competitor arrives (the issue: "under 1% within 30 s"). */
export const COMPETITOR_SETTLE_SECONDS = 30;
/** The competitor's call, one chime-lifecycle never makes: the emulator's per-operation counts then split its calls from ours exactly. */
export const COMPETITOR_OPERATION = 'DescribeAppInstance';
/** Per-second timelines on stderr (diagnostics). */
export const TIMELINE = Boolean(process.env.BENCH_DEPLOYED_TIMELINE);

const PHASES = [
  'one',
  'five',
  'onboarding',
  'faulty',
  'onboarding-fairness',
  'competitor',
  'idle',
  'fairness',
] as const;
export type Phase = (typeof PHASES)[number];
/** BENCH_DEPLOYED_PHASES=onboarding,competitor runs only those phases (default: all, in this order). */
export const SELECTED: ReadonlySet<Phase> = (() => {
  const raw = process.env.BENCH_DEPLOYED_PHASES?.trim();
  if (!raw) return new Set(PHASES);
  const names = raw.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(PHASES as readonly string[]).includes(name));
  if (unknown.length > 0)
    throw new Error(
      `BENCH_DEPLOYED_PHASES: unknown phase(s) ${unknown.join(', ')}; known: ${PHASES.join(', ')}`,
    );
  return new Set(names as Phase[]);
})();

/** Progress on stderr: the suite takes minutes and prints its table only at the end. */
export function progress(message: string): void {
  console.error(`[deployed ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}
