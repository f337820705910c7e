/** The deployed-shape bench's knobs (environment, see BENCHMARKS.md) and fixed sizes. */
import { positiveFromEnv } from '../lib';

/**
 * The quota scale of the measured stack. Fixed rather than derived from the ceiling (issue 24), so every
 * machine runs the same work under the same wiring (onboard-users' batch size follows the scale): a figure
 * means the same wherever it was measured, and a machine too slow for it says so (the row reads
 * "machine-bound", its goal not judged) instead of quietly running other work. ×2 is the highest scale whose
 * quotas are at most half the ceilings on a 2-core machine (measured 2026-12-07: the onboarding pass's
 * ceiling 258 creates/s for a quota of 100 with batches of 20, the faulty pass's 201; at ×5, batches of 50,
 * 404 and 348 for a quota of 250: machine-bound). Smaller batches cost more per record, so the ceiling falls
 * with the scale; at ×1 the faulty pass is the product's known weak spot (BENCHMARKS.md, latency).
 */
export const SCALE = positiveFromEnv('BENCH_DEPLOYED_QUOTA_SCALE', 2);
/**
 * The scale the ceiling runs enforce: far above what two cores carry (account 50,000 calls/s, 10,000 creates/s
 * per AppInstance), so what bounds them is the machine.
 */
export const CEILING_SCALE = positiveFromEnv('BENCH_DEPLOYED_CEILING_SCALE', 1_000);
/**
 * Sizes follow the scale, so each phase lasts about as long at any scale: a sync of 400 users per unit of
 * scale is about 27 s of its quota bound (user writes), enough for the trigger path (~1.3 s) to weigh little.
 */
const perScale = (name: string, perUnit: number) => Math.round(positiveFromEnv(name, perUnit * SCALE));
export const SYNC_USERS = perScale('BENCH_DEPLOYED_SYNC_USERS', 400);
/** About 30 s of the 5 tenants' create quota (50 per unit of scale): a throughput, not the first invocation's start. */
export const ONBOARDING_COUNT = perScale('BENCH_DEPLOYED_ONBOARDING_COUNT', 1_500);
/** Warm-up before the timed onboarding passes (JIT, DynamoDB Local's JVM): about 20 s of the create quota. */
export const ONBOARDING_WARMUP = perScale('BENCH_DEPLOYED_ONBOARDING_WARMUP', 1_000);
export const ONBOARDING_TENANTS = 5;
export const SMALL_TENANTS = 20;
export const SMALL_USERS = 200;
/** Still syncing while the 20 small tenants run (their round, 20 × 200 users, is ~6,700 calls: 67 s at ×2). */
export const BIG_USERS = perScale('BENCH_DEPLOYED_BIG_USERS', 2_000);
/**
 * The scales of the onboarding-fairness phase (issue 23: at ×1 and at ×20), each in a stack of its own (the
 * measured stack's when equal to SCALE), each after a ceiling run at the same wiring.
 */
export const FAIRNESS_SCALES: readonly number[] = (process.env.BENCH_DEPLOYED_FAIRNESS_SCALES ?? '1,20')
  .split(',')
  .map((raw) => {
    const scale = Number(raw.trim());
    if (!Number.isFinite(scale) || scale <= 0)
      throw new Error(`BENCH_DEPLOYED_FAIRNESS_SCALES: "${raw}" is not a positive number`);
    return scale;
  });
/** Our tenants beside the competitor: enough users that their first syncs want more than half the account quota for well over its run. */
export const COMPETED_TENANTS = 3;
export const COMPETED_USERS = perScale('BENCH_DEPLOYED_COMPETED_USERS', 800);
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
