/**
 * From the measured runs to a month: the steady state of 100,000 users in 10 tenants synced hourly, and
 * 1,000 onboardings a day, priced at the list prices of prices.ts.
 */
import { DEFAULT_MEMORY_MB } from '../../functions/declaration';
import { FUNCTIONS } from '../../functions/index';
import { verificationSpread } from '../../shared/policy';
import { emptyUsage, extrapolate, scaled, sum, type Usage } from './meter';
import { PRICES } from './prices';

export const HOURS_PER_MONTH = 24 * 30.4375;
export const DAYS_PER_MONTH = 30.4375;

/** Each function's memory as deployed (its declaration, or the default). */
export function memoryGbOf(fn: string): number {
  const declared = FUNCTIONS.find((candidate) => candidate.name === fn);
  if (!declared) throw new Error(`no function ${fn}`);
  return ('memoryMb' in declared ? (declared.memoryMb as number) : DEFAULT_MEMORY_MB) / 1024;
}

export interface Dollars {
  readonly dynamodb: number;
  readonly lambda: number;
  readonly sqs: number;
  readonly eventBridge: number;
}

export function priced(usage: Usage, memoryGb: (fn: string) => number = memoryGbOf): Dollars {
  let gbSeconds = 0;
  let invocations = 0;
  for (const [fn, ms] of Object.entries(usage.durationMs)) gbSeconds += (ms / 1000) * memoryGb(fn);
  for (const count of Object.values(usage.invocations)) invocations += count;
  return {
    dynamodb:
      usage.readUnits * PRICES.dynamodb.readRequestUnit + usage.writeUnits * PRICES.dynamodb.writeRequestUnit,
    lambda: gbSeconds * PRICES.lambda.gbSecondArm64 + invocations * PRICES.lambda.request,
    sqs: usage.sqsRequests * PRICES.sqs.request,
    eventBridge: usage.events * PRICES.eventBridge.event,
  };
}

/** What the cost bench measured, for two sizes of the same 10 tenants. */
export interface Measured {
  readonly tenants: number;
  readonly sizes: readonly [number, number];
  /** An hourly run in which nothing is due (every ledger entry fresh), at each size. */
  readonly quiet: readonly [Usage, Usage];
  /** The hourly run once a day that rewrites every ledger entry (the sighting refresh), at each size. */
  readonly refresh: readonly [Usage, Usage];
  /** Onboarding: `onboardedCount` requests, one per invocation. */
  readonly onboarding: Usage;
  readonly onboardedCount: number;
  /** A strongly consistent Query of one tenant's whole ledger partition, per user (RRU). */
  readonly ledgerQueryUnitsPerUser: number;
  /** The users of one tenant, for the verification rate (their spread factors). */
  readonly userIds: readonly string[];
  readonly verifyIntervalDays: number;
}

export interface Month {
  /** The sync's steady state, month total, and its parts. */
  readonly sync: Usage;
  readonly quietRuns: Usage;
  readonly refreshes: Usage;
  readonly verifications: Usage;
  readonly onboarding: Usage;
  /** Verifications per user per month (describe + ledger rewrite), from the spread of the user ids. */
  readonly verificationsPerUser: number;
  /** One quiet run of all tenants at the target size (the linear fit). */
  readonly quietRun: Usage;
}

/**
 * Verifications per user and month: a user is described again `verifyInterval × spread` after the last
 * time, its spread a fixed factor in [0.5, 1) of its id (sync-rules.ts), so it is verified
 * DAYS_PER_MONTH / (interval × spread) times a month on average over the users.
 */
export function verificationsPerUserMonth(userIds: readonly string[], intervalDays: number): number {
  let total = 0;
  for (const id of userIds) total += DAYS_PER_MONTH / (intervalDays * verificationSpread(id));
  return total / Math.max(1, userIds.length);
}

/** Users a tenant's verifications describe per second in steady state: its share of the account quota. */
const DESCRIBES_PER_SECOND = 10;

export function month(
  measured: Measured,
  target: { usersPerTenant: number; onboardingsPerDay: number },
): Month {
  const [n1, n2] = measured.sizes;
  const users = measured.tenants * target.usersPerTenant;
  const quietRun = extrapolate(measured.quiet[0], n1, measured.quiet[1], n2, target.usersPerTenant);
  const refreshRun = extrapolate(measured.refresh[0], n1, measured.refresh[1], n2, target.usersPerTenant);
  const quietRuns = scaled(quietRun, HOURS_PER_MONTH);
  const refreshes = scaled(sum(refreshRun, scaled(quietRun, -1)), DAYS_PER_MONTH);
  const verificationsPerUser = verificationsPerUserMonth(measured.userIds, measured.verifyIntervalDays);
  // A verification is a describe (paced at the tenant's share of the quota, in reconcile-tenant's time)
  // and a rewrite of the user's ledger entry (the refresh's write per user, measured).
  const writePerUser =
    (measured.refresh[1].writeUnits - measured.quiet[1].writeUnits) / (measured.tenants * n2);
  const verifying = verificationsPerUser * users;
  const verifications: Usage = {
    ...emptyUsage(),
    writeUnits: verifying * writePerUser,
    durationMs: { 'reconcile-tenant': (verifying / DESCRIBES_PER_SECOND) * 1000 },
  };
  const onboarding = scaled(
    measured.onboarding,
    (target.onboardingsPerDay * DAYS_PER_MONTH) / measured.onboardedCount,
  );
  return {
    sync: sum(sum(quietRuns, refreshes), verifications),
    quietRuns,
    refreshes,
    verifications,
    onboarding,
    verificationsPerUser,
    quietRun,
  };
}

/** The sync's DynamoDB month if the ledger were read with one Query per page and never rewritten for a sighting. */
export function leanerLedger(measured: Measured, result: Month, usersPerTenant: number): Usage {
  const users = measured.tenants * usersPerTenant;
  const batchGets = result.quietRun.byOperation.BatchGetItem?.units ?? 0;
  // A page of 50 users read as one key-range Query: the page's entries' bytes in 4 KB units.
  const queryReads = measured.ledgerQueryUnitsPerUser * users;
  const quiet = { ...result.quietRun, readUnits: result.quietRun.readUnits - batchGets + queryReads };
  return sum(scaled(quiet, HOURS_PER_MONTH), result.verifications);
}
