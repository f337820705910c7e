import type { ExpirationKind } from './expiration';
import { days } from './expirations/days';
import { inactiveDays } from './expirations/inactive-days';
import { never } from './expirations/never';
import { unmanaged } from './expirations/unmanaged';
import type { Miss, SelectorKind } from './selector';
import { metadata } from './selectors/metadata';
import { userIdPattern } from './selectors/user-id-pattern';
import { userIdPrefix } from './selectors/user-id-prefix';
import { userIds } from './selectors/user-ids';

// The one list of the policy's kinds. The schema, the compiler, the matcher, `explain`, `policy put`'s checks,
// the engine and the sync's choice of whether to read activity iterate these lists and name no kind: adding a
// kind is its module plus its line here (docs/policy.md, "Adding a selector or an expiration kind").

/**
 * Every selector, in the order they are tried on a user: cheapest first (a set lookup, a prefix, a regular
 * expression, then the Metadata, parsed only when reached). The first that misses is what `explain` reports.
 * A rule's `match` allows the `rules` selectors in this order; an exemption's allows those, then its own.
 */
export const SELECTORS = [userIds, userIdPrefix, userIdPattern, metadata] as const;

/** Every expiration kind, in the order the message of a wrong `expiration` lists them. */
export const EXPIRATIONS = [days, inactiveDays, never, unmanaged] as const;

type Selector = (typeof SELECTORS)[number];
type MissOf<K> = K extends SelectorKind<string, infer _Schema, infer M, infer _Scope> ? M : never;

/** Why a selector did not match a user: the union of every selector's own miss. */
export type SelectorMiss = MissOf<Selector>;
export type RuleSelector = Extract<Selector, { readonly scope: 'rules' }>;
export type ExemptionOnlySelector = Extract<Selector, { readonly scope: 'exemptions' }>;
export type ExemptionExpiration = Extract<(typeof EXPIRATIONS)[number], { readonly inExemptions: true }>;

/** The selectors as the code that iterates them sees them: name, scope and behaviour, value types erased. */
export const SELECTOR_KINDS: readonly SelectorKind[] = SELECTORS;
export const EXPIRATION_KINDS: readonly ExpirationKind[] = EXPIRATIONS;

export const RULE_SELECTORS = SELECTORS.filter((kind): kind is RuleSelector => kind.scope === 'rules');
/** An exemption's `match`: the rule selectors, then the exemption's own (`userIds`). */
export const EXEMPTION_SELECTORS: readonly Selector[] = [
  ...RULE_SELECTORS,
  ...SELECTORS.filter((kind): kind is ExemptionOnlySelector => kind.scope === 'exemptions'),
];
export const EXEMPTION_EXPIRATIONS = EXPIRATIONS.filter(
  (kind): kind is ExemptionExpiration => kind.inExemptions,
);

const selectorsByName = new Map(SELECTOR_KINDS.map((kind) => [kind.name, kind]));

/** The kind that reported a miss. */
export function selectorKindOf(miss: Miss): SelectorKind {
  const kind = selectorsByName.get(miss.selector);
  if (kind === undefined) throw new TypeError(`no selector kind is named ${JSON.stringify(miss.selector)}`);
  return kind;
}

/** The kind of a validated expiration. */
export function expirationKindOf(expiration: unknown): ExpirationKind {
  for (const kind of EXPIRATION_KINDS) if (kind.is(expiration)) return kind;
  throw new TypeError('the expiration is of no kind in the registry (was the policy validated?)');
}
