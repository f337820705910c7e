import pLimit from 'p-limit';
import type { LedgerEntry } from '../contracts/ledger';
import { emptyCounters } from '../contracts/run';
import { compilePolicy, type DecisionSource, evaluateSafety, type Policy } from '../policy';
import { assessUser, type CurrentState, countChange } from './assess';
import { type PageFacts, readPageFacts, trustedLedgerFacts } from './ledger-facts';
import { scanPages } from './pages';
import type { ActivityPort, LedgerPort, ListedUser, UserDirectory } from './ports';
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

/** Where a plan reads what the sync knows of users (the ledger) and for how long an entry is trusted. */
export interface PlanLedger {
  readonly entries: Pick<LedgerPort, 'getMany'>;
  /** The sync's own setting (ReconcileSettings.verifyIntervalMs): an older entry is described again. */
  readonly verifyIntervalMs: number;
}

export interface PlanOptions {
  readonly describeConcurrency?: number;
  /** Last activity of users, for expirations that renew by activity (read only when the policy has one). */
  readonly activity?: ActivityPort;
  /**
   * The ledger, read as the sync reads it: a managed user whose entry can be trusted is not described, so a
   * plan of a tenant whose ledger is fresh costs what a steady-state sync costs (its list pages). Without it,
   * every managed user is described.
   */
  readonly ledger?: PlanLedger;
  /**
   * Told of every listed user once it is assessed: the state the plan used (from the ledger or a Describe;
   * null when the user was gone; undefined when the plan reads none: unmanaged and protected users) and the
   * user's ledger entry, if any. `report` uses it to place every user on its chart without reading twice.
   */
  readonly observe?: (
    user: ListedUser,
    current: CurrentState | null | undefined,
    entry?: LedgerEntry,
  ) => void;
}

/**
 * What a sync would do for one tenant, writing nothing anywhere. It runs the sync's own scan (`scanPages`,
 * `assessUser`, `countChange`) with the sync's counters and reads what the sync reads: each page's ledger
 * entries (`readPageFacts`), trusted as the sync trusts them (`trustedLedgerFacts`), and Chime for the rest.
 * Its Chime calls go through the same rate-limited client as the sync, so it stays within the quotas.
 */
export async function planTenant(
  policy: Policy,
  users: UserDirectory,
  now: number,
  options: PlanOptions = {},
): Promise<Plan> {
  const compiled = compilePolicy(policy);
  const limit = pLimit(options.describeConcurrency ?? 16);
  const changes: PlannedChange[] = [];
  const protectedUsers: ProtectedUser[] = [];
  const counters = emptyCounters();
  const admins = compiled.protectAdmins ? await users.listAdmins(policy.appInstanceArn) : undefined;
  const activityPort = usesInactiveDays(compiled) ? options.activity : undefined;
  const ledger = options.ledger;

  const currentState = async (user: ListedUser, entry: LedgerEntry | undefined) => {
    const trusted = ledger && trustedLedgerFacts(entry, now, ledger.verifyIntervalMs);
    if (trusted) return trusted;
    return limit(() => users.describe(user.arn));
  };

  const planUser = async (user: ListedUser, facts: PageFacts) => {
    const entry = facts.known.get(user.appInstanceUserId);
    const lastActiveAt = facts.activity.get(user.appInstanceUserId);
    let used: CurrentState | null | undefined;
    const assessment = await assessUser(
      user,
      compiled,
      now,
      counters,
      async () => {
        const state = await currentState(user, entry);
        used = state && { ...state, lastActiveAt };
        return used;
      },
      admins,
    );
    options.observe?.(user, used, entry);
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

  // Without a ledger no entry is known, so every managed user is described.
  const entries: Pick<LedgerPort, 'getMany'> = ledger?.entries ?? { getMany: async () => new Map() };
  const reads = { ledger: entries, activity: activityPort };
  await scanPages<PageFacts>(users.listPages(policy.appInstanceArn, {}), {
    prefetch: (page) => readPageFacts(page, policy.tenantId, reads),
    work: async (page, facts) => {
      await Promise.all(page.users.map((user) => planUser(user, facts)));
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
