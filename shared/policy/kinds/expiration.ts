import type { z } from 'zod';

// What every expiration kind is made of. Each kind is one module under expirations/ and is listed once in
// registry.ts, which the schema, the engine (`decide`), the reports and the sync's choice of whether to read
// activity iterate.

/** What the engine knows of a user when a kind decides its target. */
export interface ExpirationFacts {
  /** CreatedTimestamp, epoch ms. */
  readonly createdAt: number;
  /** The current expiry instant, null when the user has none. */
  readonly currentExpiresAt: number | null;
  /** The user's last recorded activity (epoch ms), for kinds that declare `needsActivity`. */
  readonly lastActiveAt: number | undefined;
  readonly now: number;
}

/**
 * What a kind asks of Chime: leave the user alone, remove its expiration, or ExpirationDays counted from
 * creation. The engine turns it into a write, applying the floor, the 5475-day cap and the rescue.
 */
export type ExpirationTarget =
  | { readonly intent: 'unmanaged' }
  | { readonly intent: 'never' }
  | {
      readonly intent: 'days';
      readonly days: number;
      /** How `explain` and the decision's reason say it, e.g. `7 days`. */
      readonly text: string;
      /** Why the kind holds the write back for now (`renewal not due yet`), or null. */
      readonly wait: string | null;
    };

export interface ExpirationKind<
  Name extends string = string,
  Schema extends z.ZodType = z.ZodType,
  InExemptions extends boolean = boolean,
> {
  readonly name: Name;
  readonly schema: Schema;
  /** How the one message of a wrong `expiration` writes it: `{"days": 1..5475}` or `"never"`. */
  readonly written: string;
  /** Whether an exemption may pin it (renewal by activity, for one, is a rule's business). */
  readonly inExemptions: InExemptions;
  /** Whether deciding needs the user's CreatedTimestamp (the engine's `needsCreatedTimestamp` answers from it). */
  readonly needsCreatedTimestamp: boolean;
  /** Whether deciding needs the user's last activity: a sync reads activity only for policies that do. */
  readonly needsActivity: boolean;
  /** Whether a validated expiration is of this kind. */
  is(expiration: unknown): boolean;
  target(value: z.output<Schema>, facts: ExpirationFacts): ExpirationTarget;
  /** A short phrase for reports: `730 d`, `never`. */
  summary(value: z.output<Schema>): string;
}

/** Keeps a kind's literal name and exemption flag in its type, so the schema built from the registry is typed. */
export function defineExpiration<
  const Name extends string,
  Schema extends z.ZodType,
  const InExemptions extends boolean,
>(kind: ExpirationKind<Name, Schema, InExemptions>): ExpirationKind<Name, Schema, InExemptions> {
  return kind;
}

export function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/** Whether a value is an object holding `key`: how the object kinds recognise their values. */
export function objectWith(value: unknown, key: string): boolean {
  return typeof value === 'object' && value !== null && key in value;
}
