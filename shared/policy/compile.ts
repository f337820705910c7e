import type { RE2JS } from 're2js';
import { normalizeHorizons, smallestHorizon } from './horizons';
import { compileUserIdPattern, type Expiration, type Policy } from './schema';

/** A rule ready for matching: regexes compiled once, metadata values normalised to lists. */
export interface CompiledRule {
  readonly id: string;
  readonly priority: number;
  readonly expiration: Expiration;
  readonly userIdPrefix: string | undefined;
  readonly userIdPattern: RE2JS | undefined;
  /** [key, accepted values]; empty when the rule has no metadata selector. */
  readonly metadata: readonly (readonly [key: string, accepted: readonly string[]])[];
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
}

const cache = new WeakMap<Policy, CompiledPolicy>();

/**
 * Compiles a validated policy for fast repeated decisions. Results are cached per policy object, so policies
 * are treated as immutable once compiled. Throws if a userIdPattern is not valid RE2 (parsePolicy rejects those).
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
        userIdPrefix: rule.match.userIdPrefix,
        userIdPattern:
          rule.match.userIdPattern === undefined ? undefined : compileUserIdPattern(rule.match.userIdPattern),
        metadata: Object.entries(rule.match.metadata ?? {}).map(
          ([key, accepted]) => [key, typeof accepted === 'string' ? [accepted] : accepted] as const,
        ),
      }),
    )
    // Priorities are unique in a valid policy; the id tie-break only keeps hand-built policies deterministic.
    .sort((a, b) => a.priority - b.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const horizons = normalizeHorizons(policy.notify?.horizons ?? []);
  const compiled: CompiledPolicy = {
    policy,
    rules,
    defaultExpiration: policy.default?.expiration,
    minRemainingDays: Math.max(policy.safety.minRemainingDays, smallestHorizon(horizons)),
    horizons,
  };
  cache.set(policy, compiled);
  return compiled;
}

export function isCompiledPolicy(policy: Policy | CompiledPolicy): policy is CompiledPolicy {
  return 'defaultExpiration' in policy && 'policy' in policy;
}
