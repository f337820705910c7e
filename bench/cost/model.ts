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

/** A list page holds 50 users; a tenant's pages come at most 10 a second (its list quota). */
const USERS_PER_PAGE = 50;
const LIST_QUOTA_MS_PER_PAGE = 100;

/**
 * reconcile-tenant's time in one hourly run of all tenants at `usersPerTenant`: what was measured at the
 * larger size, plus the pages more at the measured time per page, or at the list quota's 100 ms per page
 * when load on the measuring machine made the measured difference smaller than that floor. Wall times are
 * noisy on a shared machine, so they are anchored to a measurement rather than fitted through two.
 */
export function reconcileMs(measured: Measured, usersPerTenant: number): { ms: number; msPerPage: number } {
  const [n1, n2] = measured.sizes;
  const pages = (users: number) => Math.ceil(users / USERS_PER_PAGE) * measured.tenants;
  const at = (usage: Usage) => usage.durationMs['reconcile-tenant'] ?? 0;
  const measuredPerPage = (at(measured.quiet[1]) - at(measured.quiet[0])) / (pages(n2) - pages(n1));
  const msPerPage = Math.max(measuredPerPage, LIST_QUOTA_MS_PER_PAGE);
  return { ms: at(measured.quiet[1]) + (pages(usersPerTenant) - pages(n2)) * msPerPage, msPerPage };
}

export function month(
  measured: Measured,
  target: { usersPerTenant: number; onboardingsPerDay: number },
): Month {
  const [n1, n2] = measured.sizes;
  const users = measured.tenants * target.usersPerTenant;
  // Counts (requests, capacity units, invocations, events) are exact and fit a + b × users; durations are
  // anchored to the larger measurement (reconcileMs).
  const fitted = extrapolate(measured.quiet[0], n1, measured.quiet[1], n2, target.usersPerTenant);
  const quietRun: Usage = {
    ...fitted,
    durationMs: {
      'schedule-sync': measured.quiet[1].durationMs['schedule-sync'] ?? 0,
      'reconcile-tenant': reconcileMs(measured, target.usersPerTenant).ms,
    },
  };
  const refreshExtra = sum(
    extrapolate(measured.refresh[0], n1, measured.refresh[1], n2, target.usersPerTenant),
    scaled(fitted, -1),
  );
  const extraMs =
    (measured.refresh[1].durationMs['reconcile-tenant'] ?? 0) -
    (measured.quiet[1].durationMs['reconcile-tenant'] ?? 0);
  refreshExtra.durationMs = { 'reconcile-tenant': Math.max(0, extraMs) * (target.usersPerTenant / n2) };
  const quietRuns = scaled(quietRun, HOURS_PER_MONTH);
  const refreshes = scaled(refreshExtra, DAYS_PER_MONTH);
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

/**
 * The sync's month if each run read its tenant's ledger with one strongly consistent Query of the partition
 * (billed by the bytes read, in 4 KB units, instead of a unit per entry as BatchGetItem is), kept it in memory
 * for the scan and for finding the users gone (instead of the end-of-run Query), and rewrote an entry only
 * when it changes or is verified (no daily sighting rewrite: a user is gone when the run's own listing lacks
 * it). Every other request of a run stays as measured.
 */
export function leanerLedger(measured: Measured, result: Month, usersPerTenant: number): Usage {
  const users = measured.tenants * usersPerTenant;
  const ledgerReads =
    (result.quietRun.byOperation.BatchGetItem?.units ?? 0) + (result.quietRun.byOperation.Query?.units ?? 0);
  const quiet = {
    ...result.quietRun,
    readUnits: result.quietRun.readUnits - ledgerReads + measured.ledgerQueryUnitsPerUser * users,
  };
  return sum(scaled(quiet, HOURS_PER_MONTH), result.verifications);
}
