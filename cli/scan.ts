import pLimit from 'p-limit';
import type { Runtime } from '../shared/composition-root';
import { expiresAt, type Policy, resolveExpiration } from '../shared/policy';
import type { ReportUser } from '../shared/report/data';
import { trustedLedgerFacts } from '../shared/sync/ledger-facts';
import { type Plan, type PlanOptions, planTenant } from '../shared/sync/plan';
import type { DescribedUser, ListedUser, UserDirectory } from '../shared/sync/ports';
import type { Progress } from './progress';

/**
 * Wraps a UserDirectory so the CLI can count users as pages are scanned, without the sync or the plan
 * knowing about progress displays.
 */
export function countingDirectory(
  directory: UserDirectory,
  onScanned: (scanned: number) => void,
): UserDirectory {
  let scanned = 0;
  return {
    async *listPages(appInstanceArn, options) {
      for await (const page of directory.listPages(appInstanceArn, options)) {
        yield page;
        // Resumed: the consumer is done with this page.
        scanned += page.users.length;
        onScanned(scanned);
      }
    },
    describe: (userArn) => directory.describe(userArn),
    putExpiration: (userArn, days) => directory.putExpiration(userArn, days),
    listAdmins: (appInstanceArn) => directory.listAdmins(appInstanceArn),
  };
}

/** The users scanned by the last completed run of a tenant, as an estimate for the progress line. */
export async function lastScanEstimate(runtime: Runtime, tenantId: string): Promise<number | undefined> {
  try {
    const runs = await runtime.runs.recent(tenantId, 5);
    const last = runs.find((run) => run.state === 'completed' || run.state === 'held');
    return last?.counters.scanned;
  } catch {
    // An estimate is a nicety; without one the line shows the count and rate only.
    return undefined;
  }
}

/**
 * What a plan reads besides Chime, as the sync reads it: the ledger (trusted for the sync's own verify
 * interval, so a tenant whose ledger is fresh is planned from its list pages alone) and users' activity.
 */
export function planReads(runtime: Runtime): Pick<PlanOptions, 'activity' | 'ledger'> {
  return {
    activity: runtime.activity,
    ledger: { entries: runtime.ledger, verifyIntervalMs: runtime.reconcileSettings.verifyIntervalMs },
  };
}

/** The plan of a tenant as `plan` shows it, with the progress line counting its pages. */
export async function scanPlan(
  runtime: Runtime,
  policy: Policy,
  now: number,
  progress: Progress,
): Promise<Plan> {
  // An unsaved policy (--policy) is read through its own access, like the stored one it would replace.
  runtime.chimeAccess.note(policy);
  try {
    return await planTenant(
      policy,
      countingDirectory(runtime.chimeUserPort, progress.update),
      now,
      planReads(runtime),
    );
  } finally {
    progress.done();
  }
}

/**
 * Runs a plan and also records what the report needs of every user: its current expiry and the expiry the
 * plan would leave it with. The current expiry is the state the plan itself used (the ledger's, or its
 * Describe); users the plan does not read (unmanaged, protected admins) are taken from a trusted ledger entry
 * when there is one and described otherwise, so a report costs what the plan costs plus those users.
 */
export async function scanForReport(
  runtime: Runtime,
  policy: Policy,
  now: number,
  progress: Progress,
): Promise<{ plan: Plan; users: ReportUser[] }> {
  // An unsaved policy (--policy) is read through its own access, like the stored one it would replace.
  runtime.chimeAccess.note(policy);
  const directory = runtime.chimeUserPort;
  const reads = planReads(runtime);
  const verifyIntervalMs = reads.ledger?.verifyIntervalMs ?? 0;
  const seen: { user: ListedUser; current: DescribedUser | null | undefined }[] = [];
  let plan: Plan;
  try {
    plan = await planTenant(policy, countingDirectory(directory, progress.update), now, {
      ...reads,
      observe: (user, current, entry) => {
        seen.push({
          user,
          current: current === undefined ? trustedLedgerFacts(entry, now, verifyIntervalMs) : current,
        });
      },
    });
  } finally {
    progress.done();
  }
  const changes = new Map(plan.changes.map((change) => [change.appInstanceUserArn, change]));
  const admins = new Set(plan.protected.map((user) => user.appInstanceUserId));
  const limit = pLimit(16);
  const placed = await Promise.all(
    seen.map(async ({ user, current }): Promise<ReportUser | undefined> => {
      const state = current === undefined ? await limit(() => directory.describe(user.arn)) : current;
      if (!state) return undefined; // gone meanwhile
      const resolved = resolveExpiration(policy, user, { now, admins });
      const currentExpiresAt =
        state.expirationDays === undefined ? null : expiresAt(state.createdAt, state.expirationDays);
      const change = changes.get(user.arn);
      const desiredExpiresAt = change
        ? change.desiredExpiresAt === null
          ? null
          : Date.parse(change.desiredExpiresAt)
        : currentExpiresAt;
      return {
        appInstanceUserId: user.appInstanceUserId,
        ruleId: resolved.ruleId,
        source: resolved.source,
        unmanaged: resolved.expiration === 'unmanaged',
        currentExpiresAt,
        desiredExpiresAt,
      };
    }),
  );
  const users = placed.filter((user): user is ReportUser => user !== undefined);
  users.sort((a, b) => a.appInstanceUserId.localeCompare(b.appInstanceUserId));
  return { plan, users };
}
