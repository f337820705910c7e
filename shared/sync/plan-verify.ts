import { type CompiledPolicy, type Decision, decide } from '../policy';
import type { PlanFileChange } from './plan-file';

/** What the product knows of a user now, read at apply (Describe, the activity store, the admin list). */
export interface UserNow {
  /** null: Chime no longer has the user. */
  readonly described: {
    readonly createdAt: number;
    readonly expirationDays: number | undefined;
    readonly metadata?: string | undefined;
  } | null;
  /** The last recorded activity (epoch ms), read only for a policy that renews by activity. */
  readonly lastActiveAt: number | undefined;
  readonly admin: boolean;
}

export type ChangeVerdict =
  /** Write `desiredDays` (null: remove the expiration). */
  | { readonly kind: 'apply'; readonly desiredDays: number | null; readonly createdAt: number }
  /** Write nothing for this user: the reason is in `outcome` (and `found`/`why`). */
  | {
      readonly kind: 'skip';
      readonly outcome: 'gone' | 'protected' | 'drifted' | 'changed';
      /** `drifted`: the user's ExpirationDays now (null: none). */
      readonly found?: number | null;
      /** `changed`: what moved since the plan. */
      readonly why?: string;
    }
  /** The change is not what the engine decides from what the plan read: the whole plan is refused. */
  | { readonly kind: 'mismatch'; readonly why: string };

export interface VerifyContext {
  readonly compiled: CompiledPolicy;
  /** The issued plan's own instant: its decisions were made at this `now`. */
  readonly planAt: number;
  /** Now. */
  readonly now: number;
  readonly admins: ReadonlySet<string> | undefined;
  /** The policy renews by activity: the plan must say which activity it decided with. */
  readonly readsActivity: boolean;
}

const daysText = (days: number | null) => (days === null ? 'none' : `${days}d`);
const desiredDaysOf = (decision: Decision): number | null =>
  decision.desired.kind === 'set' ? decision.desired.days : null;

/**
 * Decides one change of a plan again, with the engine, from what the product knows of the user now:
 *
 * 1. What the plan read is compared with what is true now. A user gone since, promoted to admin since,
 *    whose ExpirationDays is no longer the plan's `current` (drift), or whose recorded activity moved on, is
 *    skipped: the plan's decision was made from facts that no longer hold, and writing nothing is safe.
 * 2. Otherwise the plan read exactly what is true now, so the engine, given those facts and the plan's own
 *    instant (from the issued record, not the file), must give exactly the change's `desired`, `ruleId` and
 *    `shortens`: an honest plan always does, as `decide` is a pure function of them. Anything else is a
 *    change nobody's policy made (a hand edit, a user changed in a way the plan cannot show, such as its
 *    metadata): the whole plan is refused.
 * 3. Time passed between the plan and now. The engine decides again at now; when that differs from the
 *    plan's decision (the floor moved up: the plan's value would now expire the user too soon; an exemption
 *    started or ended; a renewal fell due) the user is skipped as `changed`, and the next sync or a new plan
 *    decides it. So a plan never writes what the policy would not write now, and never refuses for time alone.
 */
export function verifyChange(change: PlanFileChange, user: UserNow, context: VerifyContext): ChangeVerdict {
  if (user.admin) return { kind: 'skip', outcome: 'protected' };
  if (!user.described) return { kind: 'skip', outcome: 'gone' };
  const found = user.described.expirationDays ?? null;
  if (found !== change.current.expirationDays) return { kind: 'skip', outcome: 'drifted', found };
  const claimedActivity = change.current.lastActiveAt;
  if (context.readsActivity !== (claimedActivity !== undefined)) {
    return {
      kind: 'mismatch',
      why: context.readsActivity
        ? 'the policy renews by activity, but the change does not say which activity it was decided with'
        : 'the change names an activity, but the policy does not renew by activity',
    };
  }
  const lastActiveAt = user.lastActiveAt;
  if (context.readsActivity) {
    const now = lastActiveAt === undefined ? null : new Date(lastActiveAt).toISOString();
    if (now !== claimedActivity) {
      return { kind: 'skip', outcome: 'changed', why: 'its recorded activity moved on since the plan' };
    }
  }
  const policyUser = {
    appInstanceUserId: change.appInstanceUserId,
    ...(user.described.metadata === undefined ? {} : { metadata: user.described.metadata }),
  };
  const state = {
    createdAt: user.described.createdAt,
    expirationDays: user.described.expirationDays,
    lastActiveAt,
  };
  const admins = context.admins === undefined ? {} : { admins: context.admins };
  const then = decide(context.compiled, policyUser, state, context.planAt, admins);
  const thenDays = desiredDaysOf(then);
  if (
    !then.changes ||
    thenDays !== change.desired.expirationDays ||
    then.ruleId !== change.ruleId ||
    then.shortens !== change.shortens
  ) {
    const decided = then.changes
      ? `set ${daysText(thenDays)} by ${then.ruleId ?? then.source}${then.shortens ? ', shortening' : ''}`
      : 'no change';
    const planned = `${daysText(change.desired.expirationDays)} by ${change.ruleId ?? 'the default'}${change.shortens ? ', shortening' : ''}`;
    return { kind: 'mismatch', why: `the policy decides ${decided}; the plan says ${planned}` };
  }
  const now = decide(context.compiled, policyUser, state, context.now, admins);
  if (!now.changes || desiredDaysOf(now) !== thenDays) {
    return {
      kind: 'skip',
      outcome: 'changed',
      why: `time moved the decision since the plan: the policy now decides ${now.changes ? `${daysText(desiredDaysOf(now))} (${now.reason})` : `no change (${now.reason})`}`,
    };
  }
  return { kind: 'apply', desiredDays: thenDays, createdAt: user.described.createdAt };
}
