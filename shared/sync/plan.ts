import pLimit from 'p-limit';
import { emptyCounters } from '../contracts/run';
import { compilePolicy, type DecisionSource, evaluateSafety, type Policy } from '../policy';
import { assessUser, countChange } from './assess';
import { scanPages } from './pages';
import type { ActivityPort, ListedUser, UserDirectory } from './ports';
import { usesInactiveDays } from './warnings';

export interface PlannedChange {
  readonly appInstanceUserId: string;
  readonly appInstanceUserArn: string;
  /** Current ExpirationDays; null when the user has none. */
  readonly currentDays: number | null;
  /** Days the sync would set; null when it would remove the expiration. */
  readonly desiredDays: number | null;
  readonly action: 'set' | 'remove';
  readonly ruleId: string | null;
  readonly source: DecisionSource;
  readonly shortens: boolean;
  readonly rescue: boolean;
  readonly floored: boolean;
  readonly currentExpiresAt: string | null;
  readonly desiredExpiresAt: string | null;
  readonly reason: string;
  /**
   * For a policy that renews by activity: the last activity the decision used (ISO; null: none recorded).
   * Absent when the policy has no `inactiveDays` expiration (activity is then never read).
   */
  readonly lastActiveAt?: string | null;
}

export interface PlanSummary {
  readonly users: number;
  readonly unchanged: number;
  readonly set: number;
  readonly remove: number;
  readonly shortening: number;
  readonly rescues: number;
  readonly unmanaged: number;
  readonly floored: number;
  /** Listed, then gone before it could be described (deleted meanwhile). */
  readonly gone: number;
  /** AppInstanceAdmins left untouched (listed in `protected`). */
  readonly protected: number;
  readonly safety: { readonly wouldHold: boolean; readonly reasons: readonly string[] };
}

/** A user the sync leaves untouched whatever the rules say, and why. */
export interface ProtectedUser {
  readonly appInstanceUserId: string;
  readonly appInstanceUserArn: string;
  readonly reason: string;
}

export interface Plan {
  readonly tenantId: string;
  readonly appInstanceArn: string;
  readonly generatedAt: string;
  readonly summary: PlanSummary;
  readonly changes: readonly PlannedChange[];
  readonly protected: readonly ProtectedUser[];
}

/** Why an admin is left alone, in plan and run reports. */
export const ADMIN_PROTECTION_REASON =
  'AppInstanceAdmin: protected by the policy (protectAdmins, on by default); never given an expiration';

/**
 * What a sync would do for one tenant, read from Chime itself (no ledger, so it shows the truth even for a
 * tenant never synced) and writing nothing anywhere. It runs the sync's own scan (`scanPages`,
 * `assessUser`, `countChange`) with the sync's counters; its Chime calls go through the same rate-limited
 * client as the sync, so it stays within the quotas.
 */
export async function planTenant(
  policy: Policy,
  users: UserDirectory,
  now: number,
  options: {
    readonly describeConcurrency?: number;
    /** Last activity of users, for expirations that renew by activity (read only when the policy has one). */
    readonly activity?: ActivityPort;
  } = {},
): Promise<Plan> {
  const compiled = compilePolicy(policy);
  const limit = pLimit(options.describeConcurrency ?? 16);
  const changes: PlannedChange[] = [];
  const protectedUsers: ProtectedUser[] = [];
  const counters = emptyCounters();
  const admins = compiled.protectAdmins ? await users.listAdmins(policy.appInstanceArn) : undefined;
  const activityPort = usesInactiveDays(compiled) ? options.activity : undefined;

  const planUser = async (user: ListedUser, activity: ReadonlyMap<string, number>) => {
    const lastActiveAt = activity.get(user.appInstanceUserId);
    const assessment = await assessUser(
      user,
      compiled,
      now,
      counters,
      async () => {
        const described = await limit(() => users.describe(user.arn));
        return described && { ...described, lastActiveAt };
      },
      admins,
    );
    if (assessment.kind === 'protected') {
      protectedUsers.push({
        appInstanceUserId: user.appInstanceUserId,
        appInstanceUserArn: user.arn,
        reason: ADMIN_PROTECTION_REASON,
      });
      return;
    }
    if (assessment.kind !== 'decided' || !assessment.decision.changes) return;
    const { current, decision, desiredDays } = assessment;
    countChange(counters, { ...decision, desiredDays }, 'applied');
    changes.push({
      appInstanceUserId: user.appInstanceUserId,
      appInstanceUserArn: user.arn,
      currentDays: current.expirationDays ?? null,
      desiredDays,
      action: desiredDays === null ? 'remove' : 'set',
      ruleId: decision.ruleId,
      source: decision.source,
      shortens: decision.shortens,
      rescue: decision.rescue,
      floored: decision.floored,
      currentExpiresAt: isoOrNull(decision.currentExpiresAt),
      desiredExpiresAt: isoOrNull(decision.desiredExpiresAt),
      reason: decision.reason,
      ...(activityPort ? { lastActiveAt: isoOrNull(lastActiveAt ?? null) } : {}),
    });
  };

  await scanPages<Map<string, number>>(users.listPages(policy.appInstanceArn, {}), {
    prefetch: async (page) =>
      activityPort
        ? activityPort.lastActiveMany(
            policy.tenantId,
            page.users.map((user) => user.appInstanceUserId),
          )
        : new Map(),
    work: async (page, activity) => {
      await Promise.all(page.users.map((user) => planUser(user, activity)));
      return undefined;
    },
    stopAfter: () => false,
  });
  changes.sort((a, b) => a.appInstanceUserId.localeCompare(b.appInstanceUserId));
  protectedUsers.sort((a, b) => a.appInstanceUserId.localeCompare(b.appInstanceUserId));
  const verdict = evaluateSafety(policy.safety, {
    usersScanned: counters.scanned,
    shorteningChanges: counters.shortening,
  });
  return {
    tenantId: policy.tenantId,
    appInstanceArn: policy.appInstanceArn,
    generatedAt: new Date(now).toISOString(),
    // The plan's summary keeps its published names; the numbers are the run counters' own.
    summary: {
      users: counters.scanned,
      unchanged: counters.unchanged,
      set: counters.set,
      remove: counters.removed,
      shortening: counters.shortening,
      rescues: counters.rescued,
      unmanaged: counters.unmanaged,
      floored: counters.floored,
      gone: counters.gone,
      protected: counters.protected,
      safety: { wouldHold: verdict.hold, reasons: verdict.reasons },
    },
    changes,
    protected: protectedUsers,
  };
}

function isoOrNull(instant: number | null): string | null {
  return instant === null ? null : new Date(instant).toISOString();
}
