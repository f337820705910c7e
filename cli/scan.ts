import type { Runtime } from '../shared/composition-root';
import { expiresAt, type Policy, resolveExpiration } from '../shared/policy';
import type { ReportUser } from '../shared/report/data';
import { type Plan, planTenant } from '../shared/sync/plan';
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
 * Runs a plan and also records what the report needs of every user: its current expiry (from the same
 * DescribeAppInstanceUser calls the plan makes; unmanaged users, which the plan does not describe, are
 * described here) and the expiry the plan would leave it with.
 */
export async function scanForReport(
  runtime: Runtime,
  policy: Policy,
  now: number,
  progress: Progress,
): Promise<{ plan: Plan; users: ReportUser[] }> {
  // An unsaved policy (--policy) is read through its own access, like the stored one it would replace.
  runtime.chimeAccess.note(policy);
  const directory = runtime.chimeUsers;
  const adminPort = runtime.chimeUserPort;
  const listed: ListedUser[] = [];
  const described = new Map<string, DescribedUser | null>();
  const recording: UserDirectory = {
    async *listPages(appInstanceArn, options) {
      for await (const page of directory.listPages(appInstanceArn, options)) {
        listed.push(...page.users);
        yield page;
      }
    },
    describe: async (userArn) => {
      const current = await directory.describe(userArn);
      described.set(userArn, current);
      return current;
    },
    putExpiration: () => Promise.reject(new Error('a plan never writes')),
    listAdmins: (appInstanceArn) => adminPort.listAdmins(appInstanceArn),
  };
  let plan: Plan;
  try {
    plan = await planTenant(policy, countingDirectory(recording, progress.update), now, {
      activity: runtime.activity,
    });
  } finally {
    progress.done();
  }
  const changes = new Map(plan.changes.map((change) => [change.appInstanceUserArn, change]));
  const admins = new Set(plan.protected.map((user) => user.appInstanceUserId));
  const users: ReportUser[] = [];
  for (const user of listed) {
    const resolved = resolveExpiration(policy, user, { now, admins });
    const unmanaged = resolved.expiration === 'unmanaged';
    const current = described.has(user.arn) ? described.get(user.arn) : await directory.describe(user.arn);
    if (!current) continue; // gone meanwhile
    const currentExpiresAt =
      current.expirationDays === undefined ? null : expiresAt(current.createdAt, current.expirationDays);
    const change = changes.get(user.arn);
    const desiredExpiresAt = change
      ? change.desiredExpiresAt === null
        ? null
        : Date.parse(change.desiredExpiresAt)
      : currentExpiresAt;
    users.push({
      appInstanceUserId: user.appInstanceUserId,
      ruleId: resolved.ruleId,
      source: resolved.source,
      unmanaged,
      currentExpiresAt,
      desiredExpiresAt,
    });
  }
  return { plan, users };
}
