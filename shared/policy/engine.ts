import { type CompiledPolicy, compilePolicy, isCompiledPolicy } from './compile';
import { plural } from './kinds/expiration';
import { expirationKindOf } from './kinds/registry';
import { DAY_MS } from './limits';
import { findProtection, findRule, metadataReader, type PolicyUser, type ResolveContext } from './match';
import { type Expiration, MAX_EXPIRATION_DAYS, MIN_EXPIRATION_DAYS, type Policy } from './schema';

// Selector matching and the trace types live in match.ts; re-exported so importers of the engine keep theirs.
export {
  type PolicyUser,
  type Protection,
  type ResolveContext,
  selectorMiss,
  type TraceStep,
} from './match';

export { DAY_MS };

/** The instant a user created at `createdAt` expires with ExpirationDays = `days` (criterion CREATED_TIMESTAMP). */
export function expiresAt(createdAt: number, days: number): number {
  return createdAt + days * DAY_MS;
}

export interface CurrentExpiration {
  /** CreatedTimestamp, epoch ms. */
  readonly createdAt: number;
  /** Current ExpirationDays; undefined when the user has no ExpirationSettings. */
  readonly expirationDays?: number | undefined;
  /** The user's last recorded activity (epoch ms), for kinds that need it; undefined when none. */
  readonly lastActiveAt?: number | undefined;
}

/**
 * What governs the user: a rule, the default, nothing (unmanaged), an exemption still running (`ruleId` is
 * then the exemption's id) or its AppInstanceAdmin role (untouchable).
 */
export type DecisionSource = 'rule' | 'default' | 'none' | 'exemption' | 'admin';
export type DecisionIntent = 'days' | 'never' | 'unmanaged';

/**
 * The write to perform. `leave` means no write, whether because the user is unmanaged or already right;
 * `desired.kind !== 'leave'` exactly when `changes` is true.
 */
export type DesiredExpiration =
  | { readonly kind: 'set'; readonly days: number }
  | { readonly kind: 'remove' }
  | { readonly kind: 'leave' };

export interface Decision {
  /** The winning rule, or null when the default (or nothing) applied. */
  readonly ruleId: string | null;
  readonly source: DecisionSource;
  readonly intent: DecisionIntent;
  /** The days the policy asked for (intent `days`), before the floor and clamping. */
  readonly intendedDays: number | null;
  readonly desired: DesiredExpiration;
  readonly changes: boolean;
  /** The write moves the expiry earlier (adding an expiration to a user without one counts). */
  readonly shortens: boolean;
  /** The write lengthens an expiry that already passed: the user expired but Chime has not deleted it yet. */
  readonly rescue: boolean;
  /** The minimum-remaining floor changed the outcome: days were raised, or the current expiry was kept. */
  readonly floored: boolean;
  /** The days were capped at 5475. */
  readonly clamped: boolean;
  /** Current expiry instant (epoch ms), null when the user has no expiration. */
  readonly currentExpiresAt: number | null;
  /** Expiry instant once the decision is applied (equals currentExpiresAt when nothing changes); null = none. */
  readonly desiredExpiresAt: number | null;
  readonly reason: string;
}

export interface ResolvedExpiration {
  readonly ruleId: string | null;
  readonly source: DecisionSource;
  /** What the policy says for this user; no matching rule and no default means `unmanaged`. */
  readonly expiration: Expiration;
}

function toCompiled(policy: Policy | CompiledPolicy): CompiledPolicy {
  return isCompiledPolicy(policy) ? policy : compilePolicy(policy);
}

/**
 * Which rule (or exemption, admin protection or the default) governs this user, without looking at its
 * timestamps. Without a context (no clock, no admin list) exemptions and admin protection are not applied:
 * every use case passes one.
 */
export function resolveExpiration(
  policy: Policy | CompiledPolicy,
  user: PolicyUser,
  context?: ResolveContext,
): ResolvedExpiration {
  const compiled = toCompiled(policy);
  const readMetadata = metadataReader(user);
  if (context !== undefined && (compiled.exemptions.length > 0 || context.admins !== undefined)) {
    const protection = findProtection(compiled, user, context, readMetadata);
    if (protection?.kind === 'admin') {
      return { ruleId: null, source: 'admin', expiration: 'unmanaged' };
    }
    if (protection?.kind === 'exemption') {
      const { exemption } = protection;
      return { ruleId: exemption.id, source: 'exemption', expiration: exemption.expiration };
    }
  }
  const rule = findRule(compiled, user, readMetadata, context?.trace);
  if (rule) return { ruleId: rule.id, source: 'rule', expiration: rule.expiration };
  if (compiled.defaultExpiration !== undefined) {
    return { ruleId: null, source: 'default', expiration: compiled.defaultExpiration };
  }
  return { ruleId: null, source: 'none', expiration: 'unmanaged' };
}

/**
 * Whether deciding for this user needs its CreatedTimestamp: only kinds that compute an instant do. A bulk
 * sync can skip DescribeAppInstanceUser for users that resolve to `never` or `unmanaged`.
 */
export function needsCreatedTimestamp(
  policy: Policy | CompiledPolicy,
  user: PolicyUser,
  context?: ResolveContext,
): boolean {
  return expirationKindOf(resolveExpiration(policy, user, context).expiration).needsCreatedTimestamp;
}

/**
 * Whether some expiration of the policy decides by the user's last activity: only then does a sync read
 * activity (the kinds declare it, kinds/expirations/).
 */
export function policyNeedsActivity(policy: Policy | CompiledPolicy): boolean {
  return toCompiled(policy).needsActivity;
}

function label(resolved: ResolvedExpiration): string {
  if (resolved.source === 'rule') return `rule ${resolved.ruleId}`;
  if (resolved.source === 'exemption') return `exemption ${resolved.ruleId}`;
  if (resolved.source === 'admin') return 'AppInstanceAdmin (protected)';
  if (resolved.source === 'default') return 'default';
  return 'no matching rule and no default';
}

interface Outcome {
  readonly intent: DecisionIntent;
  readonly intendedDays: number | null;
  readonly desired: DesiredExpiration;
  readonly shortens: boolean;
  readonly rescue: boolean;
  readonly floored: boolean;
  readonly clamped: boolean;
  readonly desiredExpiresAt: number | null;
  readonly reason: string;
}

// Shared because they carry no per-user data; decide() runs for every user of a tenant.
const LEAVE: DesiredExpiration = Object.freeze({ kind: 'leave' });
const REMOVE: DesiredExpiration = Object.freeze({ kind: 'remove' });

// One object literal with a fixed key order keeps Decision monomorphic, which matters at 100k users per run.
function toDecision(
  resolved: ResolvedExpiration,
  currentExpiresAt: number | null,
  outcome: Outcome,
): Decision {
  return {
    ruleId: resolved.ruleId,
    source: resolved.source,
    intent: outcome.intent,
    intendedDays: outcome.intendedDays,
    desired: outcome.desired,
    changes: outcome.desired !== LEAVE,
    shortens: outcome.shortens,
    rescue: outcome.rescue,
    floored: outcome.floored,
    clamped: outcome.clamped,
    currentExpiresAt,
    desiredExpiresAt: outcome.desiredExpiresAt,
    reason: outcome.reason,
  };
}

function leave(
  intent: DecisionIntent,
  intendedDays: number | null,
  floored: boolean,
  currentExpiresAt: number | null,
  reason: string,
): Outcome {
  return {
    intent,
    intendedDays,
    desired: LEAVE,
    shortens: false,
    rescue: false,
    floored,
    clamped: false,
    desiredExpiresAt: currentExpiresAt,
    reason,
  };
}

/**
 * Decides the ExpirationSettings for one user. Pure: `now` is passed in. See docs/policy.md for the rules;
 * in short: the first matching rule by ascending priority wins, and no write ever sets an expiry earlier than
 * now + minRemainingDays or moves an expiry later because of that floor.
 */
export function decide(
  policy: Policy | CompiledPolicy,
  user: PolicyUser,
  current: CurrentExpiration,
  now: number,
  context: Omit<ResolveContext, 'now'> = {},
): Decision {
  if (!Number.isFinite(now) || !Number.isFinite(current.createdAt)) {
    throw new RangeError('decide: now and current.createdAt must be finite epoch milliseconds');
  }
  const compiled = toCompiled(policy);
  // Most tenants have no exemptions and (outside a sync) no admin list: no context object per user then.
  const needsContext =
    compiled.exemptions.length > 0 || context.admins !== undefined || context.trace !== undefined;
  const resolved = resolveExpiration(compiled, user, needsContext ? { ...context, now } : undefined);
  const { createdAt, expirationDays: currentDays } = current;
  const currentExpiresAt = currentDays === undefined ? null : expiresAt(createdAt, currentDays);
  return toDecision(
    resolved,
    currentExpiresAt,
    outcomeFor(resolved, createdAt, currentExpiresAt, compiled, now, current.lastActiveAt),
  );
}

/** The user must have no expiration: remove it, or leave a user that has none. */
function neverOutcome(who: string, currentExpiresAt: number | null, now: number): Outcome {
  if (currentExpiresAt === null) {
    return leave('never', null, false, currentExpiresAt, `${who}: never expires (already none)`);
  }
  const rescue = currentExpiresAt < now;
  return {
    intent: 'never',
    intendedDays: null,
    desired: REMOVE,
    shortens: false,
    rescue,
    floored: false,
    clamped: false,
    desiredExpiresAt: null,
    reason: `${who}: never expires, remove expiration${rescue ? '; rescue: expired but not yet deleted' : ''}`,
  };
}

function outcomeFor(
  resolved: ResolvedExpiration,
  createdAt: number,
  currentExpiresAt: number | null,
  compiled: CompiledPolicy,
  now: number,
  lastActiveAt?: number,
): Outcome {
  const { expiration } = resolved;
  const who = label(resolved);
  // An absent expiration is "never expires": +Infinity makes every comparison below uniform.
  const cur = currentExpiresAt ?? Number.POSITIVE_INFINITY;
  const asked = expirationKindOf(expiration).target(expiration, {
    createdAt,
    currentExpiresAt,
    lastActiveAt,
    now,
  });

  if (asked.intent === 'unmanaged') {
    const why = resolved.source === 'admin' ? 'left untouched' : 'unmanaged';
    return leave('unmanaged', null, false, currentExpiresAt, `${who}: ${why}`);
  }

  if (asked.intent === 'never') return neverOutcome(who, currentExpiresAt, now);

  const intended = asked.days;
  const policyText = `${who}: ${asked.text}`;
  if (asked.wait !== null) {
    return leave('days', intended, false, currentExpiresAt, `${policyText} (${asked.wait})`);
  }
  const target = expiresAt(createdAt, intended);
  if (target === cur) return leave('days', intended, false, currentExpiresAt, `${policyText} (already set)`);

  const { minRemainingDays } = compiled;
  const floorInstant = now + minRemainingDays * DAY_MS;
  // The smallest whole number of days from creation that still reaches the floor instant.
  const floorDays = Math.max(MIN_EXPIRATION_DAYS, Math.ceil((floorInstant - createdAt) / DAY_MS));

  const set = (days: number, floored: boolean, clamped: boolean, reason: string): Outcome => {
    const desiredExpiresAt = expiresAt(createdAt, days);
    const rescue = desiredExpiresAt > cur && cur < now;
    return {
      intent: 'days',
      intendedDays: intended,
      desired: { kind: 'set', days },
      shortens: desiredExpiresAt < cur,
      rescue,
      floored,
      clamped,
      desiredExpiresAt,
      reason: rescue ? `${reason}; rescue: expired but not yet deleted` : reason,
    };
  };
  const keepText = () => `keep ${plural(minRemainingDays, 'day')} remaining`;

  if (target > cur) {
    // Lengthening never hurts, so it always happens; the floor may lengthen it further. When even 5475 days
    // cannot reach the floor (a user older than ~15 years), 5475 is still later than the current expiry.
    const wanted = Math.max(intended, floorDays);
    const days = Math.min(wanted, MAX_EXPIRATION_DAYS);
    const floored = wanted > intended;
    const clamped = wanted > MAX_EXPIRATION_DAYS;
    let reason = policyText;
    if (floored) reason += `; floor: raised to ${plural(wanted, 'day')} to ${keepText()}`;
    if (clamped) reason += `; clamped to the maximum ${MAX_EXPIRATION_DAYS} days`;
    return set(days, floored, clamped, reason);
  }

  // target < cur: the policy shortens (or adds an expiration to a user that had none).
  if (target >= floorInstant) return set(intended, false, false, policyText);
  if (expiresAt(createdAt, floorDays) >= cur) {
    return leave(
      'days',
      intended,
      true,
      currentExpiresAt,
      `${policyText}; floor: already inside the floor window, kept`,
    );
  }
  if (floorDays > MAX_EXPIRATION_DAYS) {
    // Only reachable for a user without an expiration: capping at 5475 would expire it inside the floor window.
    return leave(
      'days',
      intended,
      true,
      currentExpiresAt,
      `${policyText}; floor: cannot ${keepText()} within ${MAX_EXPIRATION_DAYS} days, left unchanged`,
    );
  }
  return set(
    floorDays,
    true,
    false,
    `${policyText}; floor: raised to ${plural(floorDays, 'day')} to ${keepText()}`,
  );
}
