import { normalizeHorizons, smallestHorizon } from './horizons';
import { EXPIRATION_KINDS, SELECTOR_KINDS, type SelectorMiss } from './kinds/registry';
import type { Matcher, SelectorKind } from './kinds/selector';
import type { Expiration, Policy, PolicyExemption } from './schema';

export type { SelectorMiss } from './kinds/registry';

/** One selector of a rule or an exemption, compiled: what it reads of a user and how it answers. */
export interface CompiledCheck {
  readonly reads: SelectorKind['reads'];
  readonly miss: Matcher<SelectorMiss>;
}

/** The selectors of a rule or an exemption, ready for matching, in the registry's order. */
export interface CompiledSelector {
  readonly checks: readonly CompiledCheck[];
}

/** A rule ready for matching: each selector compiled once (regular expressions, metadata value lists). */
export interface CompiledRule extends CompiledSelector {
  readonly id: string;
  readonly priority: number;
  readonly expiration: Expiration;
}

export interface CompiledExemption extends CompiledSelector {
  readonly id: string;
  readonly expiration: Expiration;
  /** Epoch ms; the exemption governs its users while now < untilMs. */
  readonly untilMs: number;
  readonly exemption: PolicyExemption;
}

export interface CompiledPolicy {
  readonly policy: Policy;
  /** Ascending priority: the first rule that matches decides. */
  readonly rules: readonly CompiledRule[];
  readonly defaultExpiration: Expiration | undefined;
  /**
   * The floor of every write, in days from now: the policy's minRemainingDays, raised to its smallest warning
   * horizon when it notifies, so no write can expire a user before it was warned at that horizon.
   */
  readonly minRemainingDays: number;
  /** The warning horizons (days), largest first; empty when the policy does not notify. */
  readonly horizons: readonly number[];
  /** In document order: the first active exemption that matches wins over every rule. */
  readonly exemptions: readonly CompiledExemption[];
  readonly protectAdmins: boolean;
  /** Some expiration of the policy decides by the user's last activity: a sync then reads activity. */
  readonly needsActivity: boolean;
}

const cache = new WeakMap<Policy, CompiledPolicy>();

function compileSelector(match: object): CompiledSelector {
  const values = match as Readonly<Record<string, unknown>>;
  const checks: CompiledCheck[] = [];
  for (const kind of SELECTOR_KINDS) {
    const value = values[kind.name];
    if (value !== undefined)
      checks.push({ reads: kind.reads, miss: kind.compile(value) as Matcher<SelectorMiss> });
  }
  return { checks };
}

/** Whether some expiration given is of a kind that decides by the user's last activity. */
function needsActivity(expirations: readonly (Expiration | undefined)[]): boolean {
  return EXPIRATION_KINDS.some(
    (kind) => kind.needsActivity && expirations.some((expiration) => kind.is(expiration)),
  );
}

/**
 * Compiles a validated policy for fast repeated decisions. Results are cached per policy object, so policies
 * are treated as immutable once compiled. Throws if a selector cannot compile (a regular expression that is not
 * valid RE2; parsePolicy rejects those).
 */
export function compilePolicy(policy: Policy): CompiledPolicy {
  const cached = cache.get(policy);
  if (cached) return cached;
  const rules = policy.rules
    .map(
      (rule): CompiledRule => ({
        id: rule.id,
        priority: rule.priority,
        expiration: rule.expiration,
        ...compileSelector(rule.match),
      }),
    )
    // Priorities are unique in a valid policy; the id tie-break only keeps hand-built policies deterministic.
    .sort((a, b) => a.priority - b.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const horizons = normalizeHorizons(policy.notify?.horizons ?? []);
  // Hand-built policies (tests, older callers) may lack the members parsePolicy defaults.
  const exemptions = (policy.exemptions ?? []).map(
    (exemption): CompiledExemption => ({
      id: exemption.id,
      expiration: exemption.expiration,
      untilMs: Date.parse(exemption.until),
      exemption,
      ...compileSelector(exemption.match),
    }),
  );
  const compiled: CompiledPolicy = {
    policy,
    rules,
    defaultExpiration: policy.default?.expiration,
    minRemainingDays: Math.max(policy.safety.minRemainingDays, smallestHorizon(horizons)),
    horizons,
    exemptions,
    protectAdmins: policy.protectAdmins ?? true,
    needsActivity: needsActivity([
      ...rules.map((rule) => rule.expiration),
      policy.default?.expiration,
      ...exemptions.map((exemption) => exemption.expiration),
    ]),
  };
  cache.set(policy, compiled);
  return compiled;
}

export function isCompiledPolicy(policy: Policy | CompiledPolicy): policy is CompiledPolicy {
  return 'defaultExpiration' in policy && 'policy' in policy;
}
