import { RE2JS } from 're2js';
import { z } from 'zod';
import { MAX_HORIZON_DAYS, MAX_HORIZONS, MIN_HORIZON_DAYS } from './horizons';

/** Chime limits ExpirationDays to 1..5475 (15 years). */
export const MIN_EXPIRATION_DAYS = 1;
export const MAX_EXPIRATION_DAYS = 5475;
export const MAX_RULES = 100;
export const MAX_PRIORITY = 1_000_000;
export const MAX_PATTERN_LENGTH = 256;
export const MAX_METADATA_KEYS = 20;
export const MAX_METADATA_VALUES = 50;
/**
 * A policy document, as compact JSON, may be at most this many UTF-8 bytes. The store keeps it twice per put
 * (current item and history item), and DynamoDB refuses items above 400 KB; 64 KiB leaves room for both and
 * is far more than 100 rules need.
 */
export const MAX_DOCUMENT_BYTES = 65_536;
/** DynamoDB numbers: magnitude 1e-130 .. 9.99…e125 (or 0), at most 38 significant digits. */
export const DYNAMODB_MIN_MAGNITUDE = 1e-130;
export const DYNAMODB_MAX_MAGNITUDE = 1e126;

export const DEFAULT_SAFETY = {
  minRemainingDays: 1,
  maxShorteningChanges: 100,
  maxShorteningPercent: 10,
} as const;

/** One thing wrong with a policy document; `path` is a JSON path such as `rules[2].expiration.days`. */
export interface PolicyProblem {
  readonly path: string;
  readonly message: string;
}

export type ParsePolicyResult = { ok: true; policy: Policy } | { ok: false; problems: PolicyProblem[] };

// ---------------------------------------------------------------------------------------------------------
// ARNs

/** The Chime API model's ChimeArn shape: length 5..1600 and this pattern, matched against the whole string. */
const CHIME_ARN_PATTERN =
  /^arn:[a-z0-9-.]{1,63}:[a-z0-9-.]{0,63}:[a-z0-9-.]{0,63}:[a-z0-9-.]{0,63}:[^/].{0,1023}$/;
const CHIME_ARN_MIN_LENGTH = 5;
const CHIME_ARN_MAX_LENGTH = 1600;

/**
 * An app-instance ARN and nothing more: a user ARN (`.../app-instance/<id>/user/<userId>`) is rejected because
 * a policy governs a whole app instance. Regions look like `us-east-1`, `us-gov-west-1` or `eusc-de-east-1`.
 */
const APP_INSTANCE_ARN_PATTERN =
  /^arn:(aws[a-z-]*):chime:([a-z]{2,}(?:-[a-z]+)*-[0-9]+):([0-9]{12}):app-instance\/([A-Za-z0-9._-]+)$/;

export interface AppInstanceArnParts {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  readonly appInstanceId: string;
}

export function isChimeArn(value: string): boolean {
  return (
    value.length >= CHIME_ARN_MIN_LENGTH &&
    value.length <= CHIME_ARN_MAX_LENGTH &&
    CHIME_ARN_PATTERN.test(value)
  );
}

/** Splits an app-instance ARN into its parts, or returns null when `arn` is not exactly an app-instance ARN. */
export function parseAppInstanceArn(arn: string): AppInstanceArnParts | null {
  if (!isChimeArn(arn)) return null;
  const match = APP_INSTANCE_ARN_PATTERN.exec(arn);
  if (!match) return null;
  const [, partition, region, accountId, appInstanceId] = match;
  if (
    partition === undefined ||
    region === undefined ||
    accountId === undefined ||
    appInstanceId === undefined
  ) {
    return null;
  }
  return { partition, region, accountId, appInstanceId };
}

function appInstanceArnProblem(arn: string): string | null {
  if (!isChimeArn(arn)) {
    return `must be a Chime ARN (${CHIME_ARN_MIN_LENGTH}..${CHIME_ARN_MAX_LENGTH} characters, arn:<partition>:<service>:<region>:<account>:<resource>)`;
  }
  if (parseAppInstanceArn(arn) !== null) return null;
  if (/:app-instance\/[^/]+\/user\//.test(arn)) {
    return 'must be an app-instance ARN, not an app-instance user ARN (drop the "/user/..." suffix)';
  }
  return 'must be an app-instance ARN: arn:aws:chime:<region>:<12-digit account>:app-instance/<id>';
}

// ---------------------------------------------------------------------------------------------------------
// Regular expressions

/**
 * userIdPattern is compiled with re2js (RE2 syntax, linear time), so a hostile pattern or user id cannot make
 * matching hang the way a backtracking engine can on `(a+)+$`.
 */
export function compileUserIdPattern(pattern: string): RE2JS {
  return RE2JS.compile(pattern);
}

function userIdPatternProblem(pattern: string): string | null {
  try {
    compileUserIdPattern(pattern);
    return null;
  } catch (error) {
    const detail =
      error instanceof Error ? error.message.replace(/^error parsing regexp: /, '') : String(error);
    return `invalid regular expression: ${detail}`;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Schema building blocks. Each field carries one message that states the whole constraint, so a policy author
// sees `must be an integer 1..5475` rather than zod's per-check wording.

type IssueLike = { readonly input?: unknown };

function fieldError(message: string) {
  // Every check of these fields is given a defined input, so undefined can only mean a missing member.
  return (issue: IssueLike) => (issue.input === undefined ? 'is required' : message);
}

function integerIn(min: number, max: number) {
  const message = `must be an integer ${min}..${max}`;
  return z
    .int({ error: fieldError(message) })
    .min(min, { error: message })
    .max(max, { error: message });
}

function stringOfLength(min: number, max: number) {
  const message = `must be a string of ${min}..${max} characters`;
  return z
    .string({ error: fieldError(message) })
    .min(min, { error: message })
    .max(max, { error: message });
}

/** Tenant ids (and rule ids): the one definition every boundary (policy, queues, CLI) validates against. */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const IDENTIFIER_MESSAGE = 'must be 1..64 characters of A-Z a-z 0-9 . _ -';
const identifier = z
  .string({ error: fieldError(IDENTIFIER_MESSAGE) })
  .regex(TENANT_ID_PATTERN, { error: IDENTIFIER_MESSAGE });

/** z.strictObject whose unknown keys are reported one by one, with the keys that are allowed in that place. */
function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape, what = 'an object') {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown key (allowed: ${allowed})`;
      if (issue.code === 'invalid_type') return issue.input === undefined ? 'is required' : `must be ${what}`;
      return undefined;
    },
  });
}

const METADATA_VALUE_MESSAGE = `must be a string or a non-empty array of at most ${MAX_METADATA_VALUES} strings`;

export type MetadataSelector = Record<string, string | string[]>;

/**
 * Validated by hand rather than with z.record: zod's record drops a `__proto__` key (silently widening the
 * match) and rejects an object whose `constructor` key is a string. Metadata keys are arbitrary user data, so
 * every key must be kept and checked as written.
 */
const metadataSelector = z
  .custom<MetadataSelector>(() => true)
  .transform((value: unknown, ctx): MetadataSelector => {
    const fail = (message: string, path: PropertyKey[] = []) => {
      ctx.issues.push({ code: 'custom', message, input: value, path });
    };
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      fail(`must be an object of 1..${MAX_METADATA_KEYS} keys`);
      return z.NEVER;
    }
    const entries = Object.entries(value);
    if (entries.length < 1 || entries.length > MAX_METADATA_KEYS) {
      fail(`must have 1..${MAX_METADATA_KEYS} keys (got ${entries.length})`);
    }
    const kept: [string, string | string[]][] = [];
    for (const [key, accepted] of entries) {
      if (key.length < 1 || key.length > 128) fail('key must be 1..128 characters', [key]);
      if (typeof accepted === 'string') {
        kept.push([key, accepted]);
      } else if (Array.isArray(accepted) && accepted.length >= 1 && accepted.length <= MAX_METADATA_VALUES) {
        accepted.forEach((item: unknown, index) => {
          if (typeof item !== 'string') fail('must be a string', [key, index]);
        });
        kept.push([key, [...(accepted as string[])]]);
      } else {
        fail(METADATA_VALUE_MESSAGE, [key]);
      }
    }
    // A null-prototype object, filled with defineProperty: `__proto__`, `constructor` and `prototype` stay
    // ordinary own keys, and no code that reads the selector can reach Object.prototype through one.
    const selector: MetadataSelector = Object.create(null);
    for (const [key, accepted] of kept) {
      Object.defineProperty(selector, key, {
        value: accepted,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return selector;
  });

const userIdPattern = z
  .string({ error: fieldError(`must be a string of 1..${MAX_PATTERN_LENGTH} characters`) })
  .check((ctx) => {
    const pattern = ctx.value;
    const problem =
      pattern.length < 1 || pattern.length > MAX_PATTERN_LENGTH
        ? `must be a string of 1..${MAX_PATTERN_LENGTH} characters`
        : userIdPatternProblem(pattern);
    if (problem !== null) ctx.issues.push({ code: 'custom', message: problem, input: pattern });
  });

const matchSchema = strictObject(
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
const expirationSchema = z.union(
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
const notifySchema = strictObject(
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

const ruleSchema = strictObject({
  id: identifier,
  priority: integerIn(0, MAX_PRIORITY),
  description: z
    .string({ error: 'must be a string of at most 256 characters' })
    .max(256, { error: 'must be a string of at most 256 characters' })
    .optional(),
  match: matchSchema,
  expiration: expirationSchema,
});

/** At most this many user ids in one exemption's `userIds`. */
export const MAX_EXEMPTION_USER_IDS = 1000;
export const MAX_EXEMPTIONS = 100;

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
const exemptionSchema = strictObject({
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

const safetySchema = strictObject({
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

export const policySchema = strictObject(
  {
    tenantId: identifier,
    appInstanceArn: z.string({ error: fieldError('must be an app-instance ARN string') }).check((ctx) => {
      const problem = appInstanceArnProblem(ctx.value);
      if (problem !== null) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
    }),
    enabled: z.boolean({ error: 'must be true or false' }).default(true),
    rules: z.array(ruleSchema, { error: fieldError('must be an array of rules') }).max(MAX_RULES, {
      error: (issue) => `must have at most ${MAX_RULES} rules (got ${(issue.input as unknown[]).length})`,
    }),
    default: strictObject({ expiration: expirationSchema }).optional(),
    notify: notifySchema.optional(),
    // prefault: an absent `safety` is parsed as {} so every member gets its own default.
    safety: safetySchema.prefault({}),
    /** AppInstanceAdmins are left untouched unless this is false (docs/policy.md, "Admins"). */
    protectAdmins: z.boolean({ error: 'must be true or false' }).default(true),
    exemptions: z
      .array(exemptionSchema, { error: fieldError('must be an array of exemptions') })
      .max(MAX_EXEMPTIONS, {
        error: (issue) =>
          `must have at most ${MAX_EXEMPTIONS} exemptions (got ${(issue.input as unknown[]).length})`,
      })
      .default([]),
  },
  'a JSON object',
);

/** A policy document as written by its author. */
export type PolicyInput = z.input<typeof policySchema>;
/** A validated policy with defaults applied. */
export type Policy = z.output<typeof policySchema>;
export type PolicyRule = Policy['rules'][number];
export type RuleMatch = PolicyRule['match'];
export type Expiration = PolicyRule['expiration'];
export type DaysExpiration = Extract<Expiration, { days: number }>;
export type InactiveExpiration = Extract<Expiration, { inactiveDays: number }>;
export type NotifySettings = NonNullable<Policy['notify']>;
export type SafetySettings = Policy['safety'];
export type PolicyExemption = Policy['exemptions'][number];

// ---------------------------------------------------------------------------------------------------------
// Problems

const IDENTIFIER_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER_KEY.test(segment))
      out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out === '' ? '(root)' : out;
}

export function formatProblems(problems: readonly PolicyProblem[]): string[] {
  return problems.map((problem) => `${problem.path}: ${problem.message}`);
}

type RawIssue = z.core.$ZodIssue;

function collectProblems(
  issues: readonly RawIssue[],
  prefix: readonly PropertyKey[],
  out: PolicyProblem[],
): void {
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: formatPath([...path, key]), message: issue.message });
    } else if (issue.code === 'invalid_union') {
      // A value of the right shape for exactly one alternative (e.g. an object for `expiration`) gets that
      // alternative's own problems; anything else gets the union's single message.
      const relevant = issue.errors.filter(
        (branch) =>
          !branch.some(
            (inner) =>
              inner.path.length === 0 && (inner.code === 'invalid_type' || inner.code === 'invalid_value'),
          ),
      );
      // Of several object alternatives, the one whose keys the value uses ({"inactiveDays": 0} is not a
      // mistyped {"days": ...}).
      const keyed = relevant.filter(
        (branch) => !branch.some((inner) => inner.path.length === 0 && inner.code === 'unrecognized_keys'),
      );
      // Otherwise the first object alternative ({"days": ...}), whose problems say the most to a reader.
      const [only] = keyed.length === 1 ? keyed : relevant;
      if (only !== undefined) collectProblems(only, path, out);
      else out.push({ path: formatPath(path), message: issue.message });
    } else {
      out.push({ path: formatPath(path), message: issue.message });
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks that span rules. They run on the raw input rather than as zod refinements, because zod skips
 * refinements once any rule has a problem, and every problem must be reported in one pass.
 */
function crossRuleProblems(input: unknown): PolicyProblem[] {
  if (!isRecord(input) || !Array.isArray(input.rules)) return [];
  const problems: PolicyProblem[] = [];
  const firstIndexById = new Map<string, number>();
  const firstIndexByPriority = new Map<number, number>();
  input.rules.forEach((rule: unknown, index) => {
    if (!isRecord(rule)) return;
    if (typeof rule.id === 'string') {
      const first = firstIndexById.get(rule.id);
      if (first === undefined) firstIndexById.set(rule.id, index);
      else {
        problems.push({
          path: formatPath(['rules', index, 'id']),
          message: `duplicate rule id ${JSON.stringify(rule.id)} (also used by rules[${first}])`,
        });
      }
    }
    if (typeof rule.priority === 'number' && Number.isFinite(rule.priority)) {
      const first = firstIndexByPriority.get(rule.priority);
      if (first === undefined) firstIndexByPriority.set(rule.priority, index);
      else {
        problems.push({
          path: formatPath(['rules', index, 'priority']),
          message: `duplicate priority ${rule.priority} (also used by rules[${first}]); priorities must be unique so the winning rule is unambiguous`,
        });
      }
    }
  });
  if (Array.isArray(input.exemptions)) {
    const firstExemption = new Map<string, number>();
    input.exemptions.forEach((exemption: unknown, index) => {
      if (isRecord(exemption) && isRecord(exemption.match) && Object.keys(exemption.match).length === 0) {
        problems.push({
          path: formatPath(['exemptions', index, 'match']),
          message:
            'must name its users (userIds, userIdPrefix, userIdPattern or metadata); an exemption never covers every user',
        });
      }
      if (!isRecord(exemption) || typeof exemption.id !== 'string') return;
      const first = firstExemption.get(exemption.id);
      if (first === undefined) firstExemption.set(exemption.id, index);
      else
        problems.push({
          path: formatPath(['exemptions', index, 'id']),
          message: `duplicate exemption id ${JSON.stringify(exemption.id)} (also used by exemptions[${first}])`,
        });
    });
  }
  return problems;
}

/**
 * What the store could not hold, checked over the whole document whatever its shape: numbers outside
 * DynamoDB's range (5e-324 fails there with "Number underflow"), strings or keys that are not well-formed
 * Unicode (a lone surrogate), and a document above MAX_DOCUMENT_BYTES.
 */
/** With the u flag a surrogate pair is one code point, so this matches only an unpaired surrogate. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function storageProblems(input: unknown): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const visit = (value: unknown, path: PropertyKey[], depth: number): void => {
    if (problems.length >= 20 || depth > 64) return;
    if (typeof value === 'number') {
      const magnitude = Math.abs(value);
      if (
        !Number.isFinite(value) ||
        (magnitude !== 0 && (magnitude < DYNAMODB_MIN_MAGNITUDE || magnitude >= DYNAMODB_MAX_MAGNITUDE))
      ) {
        problems.push({
          path: formatPath(path),
          message: `${value} cannot be stored: DynamoDB numbers are 0 or of magnitude 1e-130 to 9.99e125`,
        });
      }
    } else if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) {
        problems.push({
          path: formatPath(path),
          message: 'holds a lone surrogate; text must be well-formed Unicode',
        });
      }
    } else if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) visit(item, [...path, index], depth + 1);
    } else if (typeof value === 'object' && value !== null) {
      for (const key of Object.keys(value)) {
        if (LONE_SURROGATE.test(key)) {
          problems.push({
            path: formatPath([...path, key.replace(/[\uD800-\uDFFF]/gu, '\uFFFD')]),
            message: 'key holds a lone surrogate; text must be well-formed Unicode',
          });
        }
        visit((value as Record<string, unknown>)[key], [...path, key], depth + 1);
      }
    }
  };
  visit(input, [], 0);
  if (problems.length === 0) {
    let bytes: number;
    try {
      bytes = Buffer.byteLength(JSON.stringify(input) ?? '', 'utf8');
    } catch {
      bytes = 0;
    }
    if (bytes > MAX_DOCUMENT_BYTES) {
      problems.push({
        path: '(root)',
        message: `the document is ${bytes} bytes as compact JSON; the limit is ${MAX_DOCUMENT_BYTES} bytes (64 KiB, well under DynamoDB's 400 KB item limit)`,
      });
    }
  }
  return problems;
}

/** Validates a policy document and reports every problem at once, each with its JSON path. */
export function parsePolicy(input: unknown): ParsePolicyResult {
  const storage = storageProblems(input);
  // A document too large to store is not examined further: its size is the one thing to fix first.
  if (storage.some((problem) => problem.message.includes('the limit is')))
    return { ok: false, problems: storage };
  const result = policySchema.safeParse(input);
  const problems: PolicyProblem[] = [];
  if (!result.success) collectProblems(result.error.issues, [], problems);
  problems.push(...crossRuleProblems(input));
  // A value the schema already bounds (priority 1e300) needs one message, the schema's own.
  const reported = new Set(problems.map((problem) => problem.path));
  problems.push(...storage.filter((problem) => !reported.has(problem.path)));
  if (result.success && problems.length === 0) return { ok: true, policy: result.data };
  return { ok: false, problems: dedupe(problems) };
}

/** zod may report one bad value twice (e.g. 1e300 fails both the safe-integer and the maximum check). */
function dedupe(problems: readonly PolicyProblem[]): PolicyProblem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.path}\u0000${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
