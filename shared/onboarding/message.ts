import { z } from 'zod';
import { TENANT_ID_PATTERN } from '../policy';
import { CHIME_CONSTRAINTS } from './chime-constraints';

/**
 * The onboarding message: one "create this user" request, validated at the boundary with the constraints of
 * the Chime API model (research/chime-api.md §1), so a request that Chime would refuse is refused here,
 * with a reason, before it spends any quota.
 *
 * Lengths are counted in code points, as Smithy's `@length` counts them (a 100-character Name may be more
 * than 100 UTF-16 units).
 */

const codePoints = (value: string): number => {
  let count = 0;
  for (const _ of value) count++;
  return count;
};

/** In `u` mode a paired surrogate is one code point; only a lone one is in the Cs category. */
const LONE_SURROGATE = /\p{Cs}/u;

type Constraint = { readonly min: number; readonly max: number; readonly pattern?: string };

/**
 * A string field held to Chime's own constraint (shared/onboarding/chime-constraints.ts, generated from the
 * API model): well-formed Unicode (a lone surrogate cannot be sent as UTF-8), the length in code points, and
 * the model's pattern, whose `.` refuses line breaks as Chime's does. Messages name the rule, never the value.
 */
const chimeString = (constraint: Constraint, rule: string) => {
  const pattern = constraint.pattern === undefined ? undefined : new RegExp(constraint.pattern, 'u');
  return z
    .string({ error: 'must be a string' })
    .refine(
      (value) => !LONE_SURROGATE.test(value),
      'must be well-formed Unicode (it contains a lone surrogate)',
    )
    .refine(
      (value) => {
        const length = codePoints(value);
        return length >= constraint.min && length <= constraint.max;
      },
      { message: `must be ${constraint.min}-${constraint.max} characters`, abort: true },
    )
    .refine((value) => !pattern || pattern.test(value), rule);
};

/** The model's `UserId`: starts and ends with an alphanumeric; only `: - _ . @` in between. */
export const APP_INSTANCE_USER_ID = new RegExp(CHIME_CONSTRAINTS.appInstanceUserId.pattern, 'u');
export const TENANT_ID = TENANT_ID_PATTERN;
/** Printable ASCII without spaces: fits in logs, DLQ attributes and the idempotency key material as is. */
export const REQUEST_ID = /^[\x21-\x7E]{1,128}$/;
export const MAX_NAME_LENGTH = CHIME_CONSTRAINTS.name.max;
export const MAX_METADATA_LENGTH = CHIME_CONSTRAINTS.metadata.max;
export const MAX_TAGS = 50;

const tagSchema = z.strictObject({
  Key: chimeString(CHIME_CONSTRAINTS.tagKey, 'must be a tag key Chime accepts'),
  Value: chimeString(CHIME_CONSTRAINTS.tagValue, 'must be a tag value Chime accepts'),
});

export const onboardRequestSchema = z.strictObject({
  tenantId: z
    .string({ error: 'must be a string' })
    .regex(TENANT_ID, 'must be 1-64 characters of A-Z a-z 0-9 . _ -'),
  appInstanceUserId: z
    .string({ error: 'must be a string' })
    .regex(
      APP_INSTANCE_USER_ID,
      'must be 1-64 characters of A-Z a-z 0-9 : - _ . @, starting and ending with a letter or digit',
    ),
  name: chimeString(
    CHIME_CONSTRAINTS.name,
    'must be on one line (no line breaks) and contain a character other than white space',
  ),
  metadata: chimeString(CHIME_CONSTRAINTS.metadata, 'must be on one line (no line breaks)').optional(),
  tags: z
    .array(tagSchema, { error: 'must be an array of {"Key","Value"}' })
    .min(1, 'must have 1-50 tags (leave tags out for none)')
    .max(MAX_TAGS, 'must have 1-50 tags')
    .refine((tags) => new Set(tags.map((tag) => tag.Key)).size === tags.length, 'tag keys must be unique')
    .optional(),
  requestId: z
    .string({ error: 'must be a string' })
    .regex(REQUEST_ID, 'must be 1-128 printable ASCII characters without spaces')
    .optional(),
});

export type OnboardRequest = z.infer<typeof onboardRequestSchema>;

export type RejectionReason =
  | 'invalid-json'
  | 'invalid-message'
  | 'app-instance-not-allowed'
  | 'tenant-not-found'
  | 'tenant-disabled'
  | 'chime-bad-request'
  | 'chime-forbidden'
  | 'chime-resource-limit';

/** The identifiers of a request, as far as they are present and valid (for rejection events and logs). */
export interface RequestIdentifiers {
  readonly tenantId?: string | undefined;
  readonly appInstanceUserId?: string | undefined;
  readonly requestId?: string | undefined;
}

export type ParsedMessage =
  | { readonly ok: true; readonly request: OnboardRequest }
  | {
      readonly ok: false;
      readonly reason: RejectionReason;
      readonly detail: string;
      readonly identifiers: RequestIdentifiers;
    };

/** At most this many problems are listed; the DLQ detail attribute is short and meant for a human. */
const MAX_PROBLEMS = 5;

/**
 * Parses one message body. Never throws. A rejection's `detail` names field paths and rules only: never a
 * value from the message, since names and metadata are personal data and the detail is shown by `dlq list`.
 */
export function parseOnboardMessage(body: string): ParsedMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return {
      ok: false,
      reason: 'invalid-json',
      detail: 'the message body is not valid JSON',
      identifiers: {},
    };
  }
  return parseOnboardRequest(value);
}

export function parseOnboardRequest(value: unknown): ParsedMessage {
  const parsed = onboardRequestSchema.safeParse(value);
  if (parsed.success) return { ok: true, request: parsed.data };
  return { ok: false, ...rejectionOf(value, parsed.error.issues) };
}

/**
 * Why a value that failed `onboardRequestSchema` is rejected, from the issues of that one parse (the queue
 * driver parses each body once and hands its issues here): the reason, the detail (paths and rules) and the
 * identifiers that are valid by their own rule.
 */
export function rejectionOf(
  value: unknown,
  issues: readonly Issue[],
): { readonly reason: RejectionReason; readonly detail: string; readonly identifiers: RequestIdentifiers } {
  const namesAppInstance =
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.hasOwn(value, 'appInstanceArn');
  if (namesAppInstance) {
    // Said first and on its own: a producer that sends an AppInstance expects to choose it, and must learn
    // that the tenant's policy does (so one tenant can never create users in another tenant's AppInstance).
    return {
      reason: 'app-instance-not-allowed',
      detail: [
        "appInstanceArn: not accepted; the AppInstance is the one in the tenant's policy",
        ...describeIssues(issues, value),
      ].join('; '),
      identifiers: identifiersOf(value),
    };
  }
  return {
    reason: 'invalid-message',
    detail: describeIssues(issues, value).join('; '),
    identifiers: identifiersOf(value),
  };
}

/** Each identifier only when it is valid by its own rule: an invalid one could hold anything. */
function identifiersOf(value: unknown): RequestIdentifiers {
  if (typeof value !== 'object' || value === null) return {};
  const record = value as Record<string, unknown>;
  const valid = (key: string, pattern: RegExp): string | undefined => {
    const candidate = Object.hasOwn(record, key) ? record[key] : undefined;
    return typeof candidate === 'string' && pattern.test(candidate) ? candidate : undefined;
  };
  const tenantId = valid('tenantId', TENANT_ID);
  const appInstanceUserId = valid('appInstanceUserId', APP_INSTANCE_USER_ID);
  const requestId = valid('requestId', REQUEST_ID);
  return {
    ...(tenantId === undefined ? {} : { tenantId }),
    ...(appInstanceUserId === undefined ? {} : { appInstanceUserId }),
    ...(requestId === undefined ? {} : { requestId }),
  };
}

type Issue = z.core.$ZodIssue;

function describeIssues(issues: readonly Issue[], input: unknown): string[] {
  const problems = issues
    .slice(0, MAX_PROBLEMS)
    .map((issue) => describeIssue(issue, input))
    .filter((problem): problem is string => problem !== null);
  if (issues.length > MAX_PROBLEMS) problems.push(`and ${issues.length - MAX_PROBLEMS} more problem(s)`);
  return problems;
}

/** null for an issue already reported another way (appInstanceArn has its own reason). */
function describeIssue(issue: Issue, input: unknown): string | null {
  const path = pathText(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = issue.keys.filter((key) => !(issue.path.length === 0 && key === 'appInstanceArn'));
      if (keys.length === 0) return null;
      // Positions, never the keys' text: a key can carry personal data (issue 14 item 8).
      const shown = keyPositions(input, issue.path, keys.slice(0, 3)).join(', ');
      const more = keys.length > 3 ? ` and ${keys.length - 3} more` : '';
      return `${path}: unknown key(s) at position(s) ${shown}${more} (keys are not echoed: they may hold personal data)`;
    }
    case 'invalid_type':
      return `${path}: ${isPresent(input, issue.path) ? `must be ${article(issue.expected)}` : `required (${article(issue.expected)})`}`;
    default:
      // Every other message is one this module wrote (rules, never values) or zod's wording of a rule.
      return `${path}: ${issue.message}`;
  }
}

/** Whether the member at `path` exists in the input (a missing member and a wrong type read differently). */
function isPresent(input: unknown, path: readonly PropertyKey[]): boolean {
  let current: unknown = input;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return false;
    if (!Object.hasOwn(current, segment)) return false;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return true;
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** Paths are schema keys and array indexes; unknown keys never get here (they are reported by name, escaped). */
function pathText(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((segment, index) =>
      typeof segment === 'number' ? `[${segment}]` : `${index === 0 ? '' : '.'}${String(segment)}`,
    )
    .join('');
}

/** 1-based positions of `keys` among the members of the object at `path` (in the order JSON.parse kept). */
function keyPositions(input: unknown, path: readonly PropertyKey[], keys: readonly string[]): number[] {
  let current: unknown = input;
  for (const segment of path) current = (current as Record<PropertyKey, unknown> | undefined)?.[segment];
  const members = typeof current === 'object' && current !== null ? Object.keys(current) : [];
  return keys.map((key) => members.indexOf(key) + 1);
}

/** The tags in the shape ChimeUsers.create takes (keys are unique: the schema checks it). */
export function tagRecord(request: OnboardRequest): Readonly<Record<string, string>> | undefined {
  if (!request.tags) return undefined;
  return Object.fromEntries(request.tags.map((tag) => [tag.Key, tag.Value]));
}
