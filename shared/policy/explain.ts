import type { SelectorMiss } from './compile';
import { type CurrentExpiration, type Decision, decide, type PolicyUser, type TraceStep } from './engine';
import type { Policy } from './schema';

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

const list = (values: readonly string[]) => values.map((value) => JSON.stringify(value)).join(', ');

export function missText(miss: SelectorMiss): string {
  switch (miss.selector) {
    case 'userIdPrefix':
      return `user id does not start with ${JSON.stringify(miss.expected)}`;
    case 'userIdPattern':
      return `user id does not match userIdPattern ${JSON.stringify(miss.expected)}`;
    case 'userIds':
      return `user id is not among its ${miss.count} user ids`;
    case 'metadata':
      if (miss.problem === 'no-object')
        return `metadata key ${JSON.stringify(miss.key)}: the user's Metadata is absent or not a JSON object (wanted one of ${list(miss.accepted)})`;
      if (miss.problem === 'key-absent')
        return `metadata key ${JSON.stringify(miss.key)}: absent from the user's Metadata (wanted one of ${list(miss.accepted)})`;
      return `metadata key ${JSON.stringify(miss.key)}: the user's value is none of ${list(miss.accepted)}`;
  }
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
