import { type CompiledRule, compilePolicy } from './compile';
import { SELECTOR_KINDS } from './kinds/registry';
import { DAY_MS } from './limits';
import type { Policy, PolicyExemption, PolicyProblem, RuleMatch } from './schema';

/** An exemption may end at most this far ahead of the moment it is stored. */
export const MAX_EXEMPTION_YEARS = 5;
const MAX_EXEMPTION_MS = MAX_EXEMPTION_YEARS * 365.25 * DAY_MS;
/** "Exemption Ending" goes out this long before an exemption ends. */
export const EXEMPTION_ENDING_NOTICE_MS = 7 * DAY_MS;

function untilOf(exemption: PolicyExemption): number {
  return Date.parse(exemption.until);
}

/**
 * The checks of `until` that need a clock, run when a policy is stored (`policy put`): an exemption that has
 * already ended, or one more than five years ahead, is refused, naming the exemption. A stored policy is not
 * re-checked when read: an exemption that ended since is normal and simply no longer applies.
 */
export function exemptionTimeProblems(policy: Policy, now: number): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  policy.exemptions.forEach((exemption, index) => {
    const until = untilOf(exemption);
    const path = `exemptions[${index}].until`;
    if (until <= now) {
      problems.push({
        path,
        message: `exemption "${exemption.id}" ended at ${exemption.until}, which is not in the future; remove it or give a later until`,
      });
    } else if (until - now > MAX_EXEMPTION_MS) {
      problems.push({
        path,
        message: `exemption "${exemption.id}" ends more than ${MAX_EXEMPTION_YEARS} years ahead (${exemption.until}); exemptions must end within ${MAX_EXEMPTION_YEARS} years`,
      });
    }
  });
  return problems;
}

/** A user's Metadata as `policy put` knows it: not at all, so only id selectors can be judged. */
const UNKNOWN_METADATA = () => null;

/** Whether a rule's id selectors accept a user id; its metadata selectors may accept any user, unknown here. */
function acceptsId(rule: CompiledRule | undefined, userId: string): boolean {
  if (rule === undefined) return true;
  return rule.checks.every(
    (check) => check.reads !== 'userId' || check.miss(userId, UNKNOWN_METADATA) === null,
  );
}

/**
 * Whether some user could match both an exemption's and a rule's selectors, judged from the selectors alone
 * (no user data at put time). A pair is disjoint only when one selector kind proves it: two values of a kind
 * that no user can both match (kinds/selectors/: `disjoint`, e.g. different prefixes, metadata values that do
 * not overlap), or ids named by the exemption none of which the rule's id selectors accept (`candidates`).
 * Kinds that can prove neither (patterns) are assumed to overlap.
 */
function couldOverlap(
  exemption: PolicyExemption['match'],
  rule: RuleMatch,
  compiled: CompiledRule | undefined,
): boolean {
  const ours = exemption as Readonly<Record<string, unknown>>;
  const theirs = rule as Readonly<Record<string, unknown>>;
  for (const kind of SELECTOR_KINDS) {
    const value = ours[kind.name];
    if (value === undefined) continue;
    const other = theirs[kind.name];
    if (other !== undefined && kind.disjoint?.(value, other)) return false;
    if (kind.candidates && !kind.candidates(value).some((userId) => acceptsId(compiled, userId)))
      return false;
  }
  return true;
}

/**
 * Warnings (not problems) for exemptions that can match none of the rules' users: most often a typo in an id
 * or prefix. Such an exemption still applies (it overrides the default), so the policy is stored anyway.
 */
export function exemptionWarnings(policy: Policy): PolicyProblem[] {
  const warnings: PolicyProblem[] = [];
  const compiled = new Map(compilePolicy(policy).rules.map((rule) => [rule.id, rule]));
  policy.exemptions.forEach((exemption, index) => {
    const overlaps = policy.rules.some((rule) =>
      couldOverlap(exemption.match, rule.match, compiled.get(rule.id)),
    );
    if (!overlaps) {
      warnings.push({
        path: `exemptions[${index}].match`,
        message: `exemption "${exemption.id}" matches none of the users any rule selects; check its selectors (it still overrides the default)`,
      });
    }
  });
  return warnings;
}

export interface ExemptionStatus {
  readonly id: string;
  readonly until: string;
  readonly reason: string;
  readonly owner: string;
  readonly expiration: PolicyExemption['expiration'];
  readonly active: boolean;
  /** Whole days left, rounded up (0 once it has ended). */
  readonly daysLeft: number;
  readonly match: PolicyExemption['match'];
}

/** Every exemption of a policy with its days left at `now`, soonest ending first. */
export function exemptionStatuses(policy: Policy, now: number): ExemptionStatus[] {
  return policy.exemptions
    .map((exemption) => {
      const until = untilOf(exemption);
      return {
        id: exemption.id,
        until: exemption.until,
        reason: exemption.reason,
        owner: exemption.owner,
        expiration: exemption.expiration,
        active: now < until,
        daysLeft: now < until ? Math.ceil((until - now) / DAY_MS) : 0,
        match: exemption.match,
      };
    })
    .sort((a, b) => Date.parse(a.until) - Date.parse(b.until) || (a.id < b.id ? -1 : 1));
}

/** The exemptions that end within the notice period (and have not ended): "Exemption Ending" is due. */
export function exemptionsEndingSoon(policy: Policy, now: number): PolicyExemption[] {
  return policy.exemptions.filter((exemption) => {
    const until = untilOf(exemption);
    return now < until && until - now <= EXEMPTION_ENDING_NOTICE_MS;
  });
}
