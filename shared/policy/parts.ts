import { z } from 'zod';
import {
  fieldError,
  identifier,
  integerIn,
  metadataSelector,
  strictObject,
  stringOfLength,
  userIdPattern,
} from './fields';
import { MAX_HORIZON_DAYS, MAX_HORIZONS, MIN_HORIZON_DAYS } from './horizons';
import {
  DEFAULT_SAFETY,
  MAX_EXEMPTION_USER_IDS,
  MAX_EXPIRATION_DAYS,
  MAX_PRIORITY,
  MIN_EXPIRATION_DAYS,
} from './limits';

// The parts of a policy document: selectors, expirations, notify, rules, exemptions and safety. schema.ts puts
// them together into the whole document.

export const matchSchema = strictObject(
  {
    userIdPrefix: stringOfLength(1, 64).optional(),
    userIdPattern: userIdPattern.optional(),
    metadata: metadataSelector.optional(),
  },
  'an object (use {} to match every user)',
);

const daysExpirationSchema = strictObject(
  {
    days: integerIn(MIN_EXPIRATION_DAYS, MAX_EXPIRATION_DAYS),
    criterion: z
      .literal('CREATED_TIMESTAMP', { error: 'must be "CREATED_TIMESTAMP" (the only supported criterion)' })
      .optional(),
  },
  `an object like {"days": ${MIN_EXPIRATION_DAYS}..${MAX_EXPIRATION_DAYS}}`,
);

/** Renewal of active users: the expiry follows the last activity (see shared/policy/renewal.ts). */
const inactiveExpirationSchema = strictObject(
  { inactiveDays: integerIn(MIN_EXPIRATION_DAYS, MAX_EXPIRATION_DAYS) },
  `an object like {"inactiveDays": ${MIN_EXPIRATION_DAYS}..${MAX_EXPIRATION_DAYS}}`,
);

const EXPIRATION_MESSAGE = `must be {"days": ${MIN_EXPIRATION_DAYS}..${MAX_EXPIRATION_DAYS}}, {"inactiveDays": ${MIN_EXPIRATION_DAYS}..${MAX_EXPIRATION_DAYS}}, "never" or "unmanaged"`;
export const expirationSchema = z.union(
  [z.literal('never'), z.literal('unmanaged'), daysExpirationSchema, inactiveExpirationSchema],
  { error: fieldError(EXPIRATION_MESSAGE) },
);

/** An exemption pins an expiration for a while: renewal by activity is a rule's business, not an exemption's. */
const EXEMPTION_EXPIRATION_MESSAGE = `must be {"days": ${MIN_EXPIRATION_DAYS}..${MAX_EXPIRATION_DAYS}}, "never" or "unmanaged"`;
const exemptionExpirationSchema = z.union(
  [z.literal('never'), z.literal('unmanaged'), daysExpirationSchema],
  { error: fieldError(EXEMPTION_EXPIRATION_MESSAGE) },
);

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

const exemptionMatchSchema = strictObject(
  {
    userIdPrefix: stringOfLength(1, 64).optional(),
    userIdPattern: userIdPattern.optional(),
    metadata: metadataSelector.optional(),
    userIds: z
      .array(stringOfLength(1, 64), {
        error: fieldError(`must be an array of 1..${MAX_EXEMPTION_USER_IDS} user ids`),
      })
      .min(1, { error: `must be an array of 1..${MAX_EXEMPTION_USER_IDS} user ids` })
      .max(MAX_EXEMPTION_USER_IDS, {
        error: (issue) =>
          `must have at most ${MAX_EXEMPTION_USER_IDS} user ids (got ${(issue.input as unknown[]).length})`,
      })
      .optional(),
  },
  'an object with userIdPrefix, userIdPattern, metadata and/or userIds',
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
