import pLimit from 'p-limit';
import { compilePolicy, decide, evaluateSafety, type Policy, resolveExpiration } from '../policy';
import type { ListedUser, UserDirectory } from './ports';

export interface PlannedChange {
  readonly appInstanceUserId: string;
  readonly appInstanceUserArn: string;
  /** Current ExpirationDays; null when the user has none. */
  readonly currentDays: number | null;
  /** Days the sync would set; null when it would remove the expiration. */
  readonly desiredDays: number | null;
  readonly action: 'set' | 'remove';
  readonly ruleId: string | null;
  readonly source: 'rule' | 'default' | 'none';
  readonly shortens: boolean;
  readonly rescue: boolean;
  readonly floored: boolean;
  readonly currentExpiresAt: string | null;
  readonly desiredExpiresAt: string | null;
  readonly reason: string;
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
  readonly safety: { readonly wouldHold: boolean; readonly reasons: readonly string[] };
}

export interface Plan {
  readonly tenantId: string;
  readonly appInstanceArn: string;
  readonly generatedAt: string;
  readonly summary: PlanSummary;
  readonly changes: readonly PlannedChange[];
}

/**
 * What a sync would do for one tenant, read from Chime itself (no ledger, so it shows the truth even for a
 * tenant never synced) and writing nothing anywhere. Its Chime calls go through the same rate-limited client
 * as the sync, so it stays within the quotas.
 */
export async function planTenant(
  policy: Policy,
  users: UserDirectory,
  now: number,
  options: { readonly describeConcurrency?: number } = {},
): Promise<Plan> {
  const compiled = compilePolicy(policy);
  const limit = pLimit(options.describeConcurrency ?? 16);
  const changes: PlannedChange[] = [];
  const counts = {
    users: 0,
    unchanged: 0,
    set: 0,
    remove: 0,
    shortening: 0,
    rescues: 0,
    unmanaged: 0,
    floored: 0,
    gone: 0,
  };

  const planUser = async (user: ListedUser) => {
    counts.users++;
    if (resolveExpiration(compiled, user).expiration === 'unmanaged') {
      counts.unmanaged++;
      return;
    }
    const current = await limit(() => users.describe(user.arn));
    if (!current) {
      counts.gone++;
      return;
    }
    const decision = decide(compiled, user, current, now);
    if (decision.floored) counts.floored++;
    if (!decision.changes) {
      counts.unchanged++;
      return;
    }
    const desiredDays = decision.desired.kind === 'set' ? decision.desired.days : null;
    if (desiredDays === null) counts.remove++;
    else counts.set++;
    if (decision.shortens) counts.shortening++;
    if (decision.rescue) counts.rescues++;
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
    });
  };

  for await (const page of users.listPages(policy.appInstanceArn, {})) {
    await Promise.all(page.users.map(planUser));
  }
  changes.sort((a, b) => a.appInstanceUserId.localeCompare(b.appInstanceUserId));
  const verdict = evaluateSafety(policy.safety, {
    usersScanned: counts.users,
    shorteningChanges: counts.shortening,
  });
  return {
    tenantId: policy.tenantId,
    appInstanceArn: policy.appInstanceArn,
    generatedAt: new Date(now).toISOString(),
    summary: { ...counts, safety: { wouldHold: verdict.hold, reasons: verdict.reasons } },
    changes,
  };
}

function isoOrNull(instant: number | null): string | null {
  return instant === null ? null : new Date(instant).toISOString();
}
