import { z } from 'zod';
import { fieldError, identifier, integerIn, joinWords, strictObject, stringOfLength } from './fields';
import { MAX_HORIZON_DAYS, MAX_HORIZONS, MIN_HORIZON_DAYS } from './horizons';
import type { ExpirationKind } from './kinds/expiration';
import { EXEMPTION_EXPIRATIONS, EXEMPTION_SELECTORS, EXPIRATIONS, RULE_SELECTORS } from './kinds/registry';
import type { SelectorKind } from './kinds/selector';
import { DEFAULT_SAFETY, MAX_PRIORITY } from './limits';

// The parts of a policy document: selectors, expirations, notify, rules, exemptions and safety. schema.ts puts
// them together into the whole document. The selectors and expirations are the registry's kinds
// (kinds/registry.ts): this module only puts their schemas together.

type OptionalShape<K extends SelectorKind> = { [S in K as S['name']]: z.ZodOptional<S['schema']> };

/** A `match` object's members: every kind given, optional, in the registry's order. */
function selectorShape<K extends SelectorKind>(kinds: readonly K[]): OptionalShape<K> {
  return Object.fromEntries(kinds.map((kind) => [kind.name, kind.schema.optional()])) as OptionalShape<K>;
}

/** One of the kinds given; a value none accepts gets one message that lists them all. */
function expirationUnion<K extends ExpirationKind>(kinds: readonly K[]) {
  const written = kinds.map((kind) => kind.written);
  const message = `must be ${joinWords(written, 'or')}`;
  return z.union(kinds.map((kind) => kind.schema) as K['schema'][], { error: fieldError(message) });
}

export const matchSchema = strictObject(
  selectorShape(RULE_SELECTORS),
  'an object (use {} to match every user)',
);

export const expirationSchema = expirationUnion(EXPIRATIONS);

const exemptionExpirationSchema = expirationUnion(EXEMPTION_EXPIRATIONS);

const HORIZONS_MESSAGE = `must be an array of 1..${MAX_HORIZONS} distinct integers ${MIN_HORIZON_DAYS}..${MAX_HORIZON_DAYS} (days before expiry)`;
export const notifySchema = strictObject(
  {
    horizons: z
      .array(integerIn(MIN_HORIZON_DAYS, MAX_HORIZON_DAYS), { error: fieldError(HORIZONS_MESSAGE) })
      .min(1, { error: HORIZONS_MESSAGE })
      .max(MAX_HORIZONS, { error: HORIZONS_MESSAGE })
      .refine((days) => new Set(days).size === days.length, {
        error: `${HORIZONS_MESSAGE}; a day is repeated`,
      }),
  },
  'an object like {"horizons": [30, 7, 1]}',
);

export const ruleSchema = strictObject({
  id: identifier,
  priority: integerIn(0, MAX_PRIORITY),
  description: z
    .string({ error: 'must be a string of at most 256 characters' })
    .max(256, { error: 'must be a string of at most 256 characters' })
    .optional(),
  match: matchSchema,
  expiration: expirationSchema,
});

const exemptionSelectorNames = EXEMPTION_SELECTORS.map((kind) => kind.name);
const exemptionMatchSchema = strictObject(
  selectorShape(EXEMPTION_SELECTORS),
  `an object with ${joinWords(exemptionSelectorNames, 'and/or')}`,
);

const UNTIL_MESSAGE = 'must be an ISO 8601 instant with a time zone, e.g. "2027-03-31T00:00:00Z"';

/**
 * An exemption: its users are governed by `expiration` instead of the rules until `until`. Whether `until`
 * lies in the future is checked where a clock is at hand (`policy put`, see exemptionTimeProblems): a stored
 * policy whose exemption ended is normal and stays valid.
 */
export const exemptionSchema = strictObject({
  id: identifier,
  match: exemptionMatchSchema,
  expiration: exemptionExpirationSchema,
  until: z.string({ error: fieldError(UNTIL_MESSAGE) }).check((ctx) => {
    if (!ISO_INSTANT.test(ctx.value) || Number.isNaN(Date.parse(ctx.value))) {
      ctx.issues.push({ code: 'custom', message: UNTIL_MESSAGE, input: ctx.value });
    }
  }),
  reason: stringOfLength(1, 256),
  owner: stringOfLength(1, 128),
});

/** Date, time and an explicit zone (Z or ±hh:mm): an instant, never a local time read in some zone. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export const safetySchema = strictObject({
  minRemainingDays: integerIn(0, 365).default(DEFAULT_SAFETY.minRemainingDays),
  maxShorteningChanges: z
    .int({ error: 'must be an integer >= 0' })
    .min(0, { error: 'must be an integer >= 0' })
    .default(DEFAULT_SAFETY.maxShorteningChanges),
  maxShorteningPercent: z
    .number({ error: 'must be a number 0..100' })
    .min(0, { error: 'must be a number 0..100' })
    .max(100, { error: 'must be a number 0..100' })
    .default(DEFAULT_SAFETY.maxShorteningPercent),
});
