import { compilePolicy } from './compile';
import { DAY_MS } from './engine';
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

/**
 * Whether some user could match both selectors, judged from the selectors alone (no user data at put time):
 * a pair is disjoint only when that can be proven (different prefixes, an id list none of whose ids the
 * rule's id selectors accept, a metadata key whose accepted values do not overlap). Patterns against each
 * other are assumed to overlap.
 */
function couldOverlap(
  exemption: PolicyExemption['match'],
  rule: RuleMatch,
  testId: (id: string) => boolean,
): boolean {
  const { userIdPrefix: a } = exemption;
  const { userIdPrefix: b } = rule;
  if (a !== undefined && b !== undefined && !a.startsWith(b) && !b.startsWith(a)) return false;
  if (exemption.userIds !== undefined && !exemption.userIds.some(testId)) return false;
  if (exemption.metadata && rule.metadata) {
    for (const key of Object.keys(exemption.metadata)) {
      if (!Object.hasOwn(rule.metadata, key)) continue;
      const ours = ([] as string[]).concat(exemption.metadata[key] ?? []);
      const theirs = ([] as string[]).concat(rule.metadata[key] ?? []);
      if (!ours.some((value) => theirs.includes(value))) return false;
    }
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
  // The id selectors only: the user's metadata is unknown here, so a metadata selector may match any id.
  const acceptsId = (ruleId: string, userId: string) => {
    const rule = compiled.get(ruleId);
    if (!rule) return true;
    if (rule.userIdPrefix !== undefined && !userId.startsWith(rule.userIdPrefix)) return false;
    return rule.userIdPattern === undefined || rule.userIdPattern.test(userId);
  };
  policy.exemptions.forEach((exemption, index) => {
    const overlaps = policy.rules.some((rule) =>
      couldOverlap(exemption.match, rule.match, (id) => acceptsId(rule.id, id)),
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
