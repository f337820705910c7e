import type { RE2JS } from 're2js';
import { normalizeHorizons, smallestHorizon } from './horizons';
import {
  compileUserIdPattern,
  type Expiration,
  type MetadataSelector,
  type Policy,
  type PolicyExemption,
} from './schema';

/**
 * Why a selector did not match a user. The objects are built once per compiled selector, so the hot path
 * (every user of every tenant) allocates nothing to say "no", and `explain` reads the same answer.
 */
export type SelectorMiss =
  | { readonly selector: 'userIdPrefix'; readonly expected: string }
  | { readonly selector: 'userIdPattern'; readonly expected: string }
  | { readonly selector: 'userIds'; readonly count: number }
  | {
      readonly selector: 'metadata';
      readonly key: string;
      readonly accepted: readonly string[];
      /** `no-object`: the user's Metadata is absent or not a JSON object. */
      readonly problem: 'no-object' | 'key-absent' | 'value-not-accepted';
    };

export interface CompiledMetadataKey {
  readonly key: string;
  readonly accepted: readonly string[];
  readonly misses: {
    readonly 'no-object': SelectorMiss;
    readonly 'key-absent': SelectorMiss;
    readonly 'value-not-accepted': SelectorMiss;
  };
}

/** The selectors of a rule or an exemption, ready for matching. */
export interface CompiledSelector {
  readonly userIdPrefix: string | undefined;
  readonly userIdPattern: RE2JS | undefined;
  /** [key, accepted values]; empty when there is no metadata selector. */
  readonly metadata: readonly (readonly [key: string, accepted: readonly string[]])[];
  readonly metadataKeys: readonly CompiledMetadataKey[];
  /** Exemptions only: the explicit user ids. */
  readonly userIds: ReadonlySet<string> | undefined;
  readonly prefixMiss: SelectorMiss | undefined;
  readonly patternMiss: SelectorMiss | undefined;
  readonly userIdsMiss: SelectorMiss | undefined;
}

/** A rule ready for matching: regexes compiled once, metadata values normalised to lists. */
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
}

const cache = new WeakMap<Policy, CompiledPolicy>();

function compileSelector(match: {
  readonly userIdPrefix?: string | undefined;
  readonly userIdPattern?: string | undefined;
  readonly metadata?: MetadataSelector | undefined;
  readonly userIds?: readonly string[] | undefined;
}): CompiledSelector {
  const metadata = Object.entries(match.metadata ?? {}).map(
    ([key, accepted]) => [key, typeof accepted === 'string' ? [accepted] : accepted] as const,
  );
  return {
    userIdPrefix: match.userIdPrefix,
    userIdPattern: match.userIdPattern === undefined ? undefined : compileUserIdPattern(match.userIdPattern),
    metadata,
    metadataKeys: metadata.map(([key, accepted]) => ({
      key,
      accepted,
      misses: {
        'no-object': { selector: 'metadata', key, accepted, problem: 'no-object' },
        'key-absent': { selector: 'metadata', key, accepted, problem: 'key-absent' },
        'value-not-accepted': { selector: 'metadata', key, accepted, problem: 'value-not-accepted' },
      },
    })),
    userIds: match.userIds === undefined ? undefined : new Set(match.userIds),
    prefixMiss:
      match.userIdPrefix === undefined
        ? undefined
        : { selector: 'userIdPrefix', expected: match.userIdPrefix },
    patternMiss:
      match.userIdPattern === undefined
        ? undefined
        : { selector: 'userIdPattern', expected: match.userIdPattern },
    userIdsMiss:
      match.userIds === undefined ? undefined : { selector: 'userIds', count: match.userIds.length },
  };
}

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
  };
  cache.set(policy, compiled);
  return compiled;
}

export function isCompiledPolicy(policy: Policy | CompiledPolicy): policy is CompiledPolicy {
  return 'defaultExpiration' in policy && 'policy' in policy;
}
