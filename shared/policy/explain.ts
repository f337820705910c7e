import type { SelectorMiss } from './compile';
import { type CurrentExpiration, type Decision, decide, type PolicyUser, type TraceStep } from './engine';
import { expirationKindOf, SELECTOR_KINDS, selectorKindOf } from './kinds/registry';
import type { Expiration, Policy, PolicyExemption, PolicyRule } from './schema';

/**
 * `explain`: the engine's own decision for one user, with the trace of every exemption and rule it tried.
 * Not a second implementation: `decide` runs with a trace collector, and the texts below only put its
 * answers into words. Texts name the policy's selectors and values, never the user's name or metadata.
 */
export interface Explanation {
  readonly decision: Decision;
  readonly steps: readonly ExplainedStep[];
  /** Rules after the winning one: not tried. */
  readonly notTried: readonly string[];
  readonly minRemainingDays: number;
}

export interface ExplainedStep extends TraceStep {
  readonly why: string;
}

export function explainDecision(
  policy: Policy,
  user: PolicyUser,
  current: CurrentExpiration,
  now: number,
  admins: ReadonlySet<string> | undefined,
): Explanation {
  const trace: TraceStep[] = [];
  const decision = decide(policy, user, current, now, { admins, trace });
  const tried = new Set(trace.filter((step) => step.kind === 'rule').map((step) => step.id));
  const notTried = [...policy.rules]
    .sort((a, b) => a.priority - b.priority)
    .filter((rule) => !tried.has(rule.id))
    .map((rule) => rule.id);
  return {
    decision,
    steps: trace.map((step) => ({ ...step, why: whyText(step) })),
    notTried,
    minRemainingDays: policy.safety.minRemainingDays,
  };
}

function whyText(step: TraceStep): string {
  if (step.kind === 'exemption' && step.active === false) return 'ended: its until has passed, not applied';
  if (step.matched) return 'matched: every selector accepts the user';
  return step.miss ? missText(step.miss) : 'did not match';
}

/** Why a selector did not match, in the words of its kind (kinds/selectors/). */
export function missText(miss: SelectorMiss): string {
  return selectorKindOf(miss).missText(miss);
}

/** A short phrase per selector of a `match` (`2 user id(s); prefix guest-`), in the registry's order. */
export function describeSelectors(match: PolicyExemption['match'] | PolicyRule['match']): string {
  const values = match as Readonly<Record<string, unknown>>;
  return SELECTOR_KINDS.flatMap((kind) => {
    const value = values[kind.name];
    return value === undefined ? [] : [kind.summary(value)];
  }).join('; ');
}

/** An expiration in a few words, as reports show it: `730 d`, `30 d after last activity`, `never`. */
export function describeExpiration(expiration: Expiration): string {
  return expirationKindOf(expiration).summary(expiration);
}

export interface PolicyVersionLike {
  readonly version: number;
  readonly updatedAt: string;
  readonly policy: Policy;
}

export interface RuleHistoryEntry {
  readonly version: number;
  readonly updatedAt: string;
  readonly change: 'added' | 'changed' | 'removed';
}

/**
 * The policy versions that added, changed or removed the deciding rule (or exemption, or the default),
 * oldest first.
 */
export function historyOf(
  versions: readonly PolicyVersionLike[],
  source: Decision['source'],
  id: string | null,
): RuleHistoryEntry[] {
  const pick = (policy: Policy): string | undefined => {
    const part =
      source === 'rule'
        ? policy.rules.find((rule) => rule.id === id)
        : source === 'exemption'
          ? policy.exemptions.find((exemption) => exemption.id === id)
          : source === 'default'
            ? policy.default
            : source === 'admin'
              ? policy.protectAdmins
              : undefined;
    return part === undefined ? undefined : JSON.stringify(part);
  };
  const ordered = [...versions].sort((a, b) => a.version - b.version);
  const entries: RuleHistoryEntry[] = [];
  let previous: string | undefined;
  for (const version of ordered) {
    const now = pick(version.policy);
    if (now !== previous) {
      const change = previous === undefined ? 'added' : now === undefined ? 'removed' : 'changed';
      entries.push({ version: version.version, updatedAt: version.updatedAt, change });
    }
    previous = now;
  }
  return entries;
}
