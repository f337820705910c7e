import type { z } from 'zod';

// What every selector kind is made of. A selector is one key of a rule's or an exemption's `match`; each kind
// is one module under selectors/ and is listed once in registry.ts, which the schema, the compiler, the
// matcher, `explain` and `policy put`'s checks iterate.

/** A user's Metadata as a JSON object, or null when it is absent or not one. */
export type ParsedMetadata = Record<string, unknown> | null;

/** Reads a user's Metadata at most once, and only when a selector asks. */
export type MetadataReader = () => ParsedMetadata;

/** Why a selector did not match a user: `selector` names the kind, the rest is the kind's own. */
export interface Miss {
  readonly selector: string;
}

/**
 * A compiled selector: the way the user fails it, or null when it accepts the user. Compiled once per policy,
 * with its misses built then, so the hot path (every user of every tenant) allocates nothing to say "no",
 * and `explain` reads the same answer.
 */
export type Matcher<M extends Miss = Miss> = (userId: string, readMetadata: MetadataReader) => M | null;

export interface SelectorKind<
  Name extends string = string,
  Schema extends z.ZodType = z.ZodType,
  M extends Miss = Miss,
  Scope extends 'rules' | 'exemptions' = 'rules' | 'exemptions',
> {
  /** The key in `match`. */
  readonly name: Name;
  /** `rules`: rules and exemptions may use it; `exemptions`: only exemptions may. */
  readonly scope: Scope;
  /**
   * What it reads of a user: the id alone, or its Metadata. `policy put` judges overlaps without user data,
   * so only `userId` selectors can prove that a rule accepts none of an exemption's users.
   */
  readonly reads: 'userId' | 'metadata';
  /** The value's schema; its messages are the ones `policy validate` shows. */
  readonly schema: Schema;
  compile(value: z.output<Schema>): Matcher<M>;
  /** `explain`'s words for a miss: the policy's selector and values, never the user's own data. */
  missText(miss: M): string;
  /** A short phrase for listings (`chime-lifecycle exemptions`). */
  summary(value: z.output<Schema>): string;
  /** `policy put`: true when it is proven that no user matches both values of this kind. */
  disjoint?(ours: z.output<Schema>, theirs: z.output<Schema>): boolean;
  /** `policy put`: the only user ids a value can match, for a kind that names them. */
  candidates?(value: z.output<Schema>): readonly string[];
}

/** Keeps a kind's literal name and scope in its type, so the schema built from the registry is typed. */
export function defineSelector<
  const Name extends string,
  Schema extends z.ZodType,
  M extends Miss,
  const Scope extends 'rules' | 'exemptions',
>(kind: SelectorKind<Name, Schema, M, Scope>): SelectorKind<Name, Schema, M, Scope> {
  return kind;
}
