import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DAY_MS, MAX_EXPIRATION_DAYS, MIN_EXPIRATION_DAYS } from '../policy';
import type { Plan } from './plan';

/**
 * A plan file: the exact changes a reviewer saw, bound to the policy version they came from, valid for a
 * limited time, with a SHA-256 over its canonical content (Terraform's saved plan, for expirations).
 *
 * The hash is not a signature: anyone who can edit the file can recompute it. What makes a file applicable
 * is that `plan --out` recorded its hash in the state table (plan-apply.ts), and that every change is what
 * the engine decides again at apply. This module holds what can be checked from the file alone.
 */
export const PLAN_FILE_FORMAT = 'chime-lifecycle-plan/2';
export const DEFAULT_PLAN_VALIDITY_MS = DAY_MS;
/** A plan may be valid for at most this long: the longer, the likelier every user drifted meanwhile. */
export const MAX_PLAN_VALIDITY_MS = 30 * DAY_MS;
/**
 * The most changes one plan may hold. A plan is for review; at Chime's default quotas (20 Describes and 10
 * writes a second per AppInstance) 10,000 changes take about 25 minutes to apply. A larger change of a
 * tenant is approved with `sync --approve-shortening` (the safety caps' own approval).
 */
export const MAX_PLAN_CHANGES = 10_000;
/** The most bytes a plan file may have: MAX_PLAN_CHANGES changes with the longest ARNs, indented. */
export const MAX_PLAN_FILE_BYTES = 32 * 1024 * 1024;
/** How far a plan's generation time may be ahead of our clock (clocks of two machines differ a little). */
export const PLAN_CLOCK_SKEW_MS = 5 * 60_000;

const days = z.number().int().min(MIN_EXPIRATION_DAYS).max(MAX_EXPIRATION_DAYS).nullable();
/**
 * An AppInstanceUserId as far as the file can be judged alone: 1..64 characters, no control character and
 * no `/` (the ARN a change carries must be the one built from the policy's AppInstance and this id, so a
 * path in an id could only point elsewhere). Chime's own pattern is Chime's to enforce on the Describe.
 */
const userId = z.string().regex(/^[^\p{Cc}/]{1,64}$/u, {
  error: 'must be an AppInstanceUserId (1..64 characters, no "/" and no control character)',
});

const changeSchema = z.strictObject({
  appInstanceUserId: userId,
  appInstanceUserArn: z.string().min(1).max(1600),
  /**
   * The user as the plan read it: ExpirationDays (null: none) and, for a policy that renews by activity,
   * the last activity it decided with (null: none recorded).
   */
  current: z.strictObject({ expirationDays: days, lastActiveAt: z.iso.datetime().nullable().optional() }),
  desired: z.strictObject({ expirationDays: days }),
  ruleId: z.string().min(1).max(64).nullable(),
  shortens: z.boolean(),
});

const contentSchema = z.strictObject({
  format: z.literal(PLAN_FILE_FORMAT, {
    error: `must be "${PLAN_FILE_FORMAT}" (a file of an earlier version cannot be applied: make a new plan)`,
  }),
  tenantId: z.string().min(1).max(64),
  appInstanceArn: z.string().min(1).max(1600),
  policyVersion: z.number().int().min(1),
  generatedAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  changes: z.array(changeSchema).max(MAX_PLAN_CHANGES),
});

export const planFileSchema = contentSchema.extend({ sha256: z.string().regex(/^[0-9a-f]{64}$/) });

export type PlanFileContent = z.infer<typeof contentSchema>;
export type PlanFile = z.infer<typeof planFileSchema>;
export type PlanFileChange = PlanFileContent['changes'][number];

/** JSON with object keys sorted at every level: one byte sequence per content, whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function planHash(content: PlanFileContent): string {
  return createHash('sha256').update(canonicalJson(content), 'utf8').digest('hex');
}

/** Why a plan of `changes` changes cannot be written or applied, or null when its size is fine. */
export function planSizeProblem(changes: number): string | null {
  return changes > MAX_PLAN_CHANGES
    ? `the plan has ${changes} changes; a plan holds at most ${MAX_PLAN_CHANGES}. Approve a change this large with \`sync --tenant T --approve-shortening\`, or narrow it`
    : null;
}

/** The plan file for a plan made from stored policy version `policyVersion` at `now` (the plan's own instant). */
export function createPlanFile(
  plan: Plan,
  policyVersion: number,
  now: number,
  validForMs: number = DEFAULT_PLAN_VALIDITY_MS,
): PlanFile {
  if (!(validForMs > 0 && validForMs <= MAX_PLAN_VALIDITY_MS)) {
    throw new RangeError(`a plan is valid for more than 0 and at most ${MAX_PLAN_VALIDITY_MS / DAY_MS} days`);
  }
  const tooLarge = planSizeProblem(plan.changes.length);
  if (tooLarge) throw new RangeError(tooLarge);
  const content: PlanFileContent = {
    format: PLAN_FILE_FORMAT,
    tenantId: plan.tenantId,
    appInstanceArn: plan.appInstanceArn,
    policyVersion,
    generatedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + validForMs).toISOString(),
    changes: plan.changes.map((change) => ({
      appInstanceUserId: change.appInstanceUserId,
      appInstanceUserArn: change.appInstanceUserArn,
      current: {
        expirationDays: change.currentDays,
        ...(change.lastActiveAt === undefined ? {} : { lastActiveAt: change.lastActiveAt }),
      },
      desired: { expirationDays: change.desiredDays },
      ruleId: change.ruleId,
      shortens: change.shortens,
    })),
  };
  return { ...content, sha256: planHash(content) };
}

export type PlanRefusalReason =
  | 'malformed'
  | 'too-large'
  | 'hash-mismatch'
  | 'wrong-tenant'
  | 'validity-too-long'
  | 'not-yet-valid'
  | 'expired'
  | 'duplicate-users'
  | 'no-policy'
  | 'policy-moved-on'
  | 'wrong-app-instance'
  | 'arn-mismatch'
  | 'not-issued'
  | 'already-applied'
  | 'not-what-the-policy-decides';

export interface PlanRefusal {
  readonly reason: PlanRefusalReason;
  readonly message: string;
}

export type PlanCheck =
  | { readonly ok: true; readonly plan: PlanFile }
  | { readonly ok: false; readonly refusal: PlanRefusal };

const refuse = (reason: PlanRefusalReason, message: string): PlanCheck => ({
  ok: false,
  refusal: { reason, message },
});

const NEW_PLAN = 'nothing applied. Make a new plan with `plan --out`';

/**
 * What the file alone says about whether it may be applied, as a whole: its size, its shape, its hash, its
 * tenant, its validity (generated not after now, valid for at most MAX_PLAN_VALIDITY_MS, not expired) and
 * one change per user. Whether the product issued it, and whether the policy gives its changes, is
 * plan-apply.ts's to check.
 */
export function checkPlanFile(
  raw: unknown,
  expected: { readonly tenantId: string; readonly now: number },
): PlanCheck {
  const listed = (raw as { changes?: unknown } | null)?.changes;
  if (Array.isArray(listed)) {
    const tooLarge = planSizeProblem(listed.length);
    if (tooLarge) return refuse('too-large', `${tooLarge}; nothing applied`);
  }
  const parsed = planFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 5)
      .map(
        (issue) =>
          // Never the file's own text: an unknown key is counted, not quoted.
          `${issue.path.join('.') || '(root)'}: ${issue.code === 'unrecognized_keys' ? `${issue.keys.length} unknown key(s)` : issue.message}`,
      )
      .join('; ');
    return refuse('malformed', `not a chime-lifecycle plan file: ${problems}; nothing applied`);
  }
  const { sha256, ...content } = parsed.data;
  const actual = planHash(content);
  if (actual !== sha256) {
    return refuse(
      'hash-mismatch',
      `the plan's content does not match its sha256 (it was edited after it was made: expected ${sha256}, content hashes to ${actual}); ${NEW_PLAN}`,
    );
  }
  if (content.tenantId !== expected.tenantId) {
    return refuse(
      'wrong-tenant',
      `the plan is for tenant ${content.tenantId}, not ${expected.tenantId}; nothing applied`,
    );
  }
  const generatedAt = Date.parse(content.generatedAt);
  const expiresAt = Date.parse(content.expiresAt);
  if (!(expiresAt > generatedAt && expiresAt - generatedAt <= MAX_PLAN_VALIDITY_MS)) {
    return refuse(
      'validity-too-long',
      `the plan is valid from ${content.generatedAt} to ${content.expiresAt}: a plan is valid for more than 0 and at most ${MAX_PLAN_VALIDITY_MS / DAY_MS} days; ${NEW_PLAN}`,
    );
  }
  if (generatedAt > expected.now + PLAN_CLOCK_SKEW_MS) {
    return refuse(
      'not-yet-valid',
      `the plan says it was made at ${content.generatedAt}, after now (${new Date(expected.now).toISOString()}); nothing applied`,
    );
  }
  if (expiresAt <= expected.now) {
    return refuse('expired', `the plan expired at ${content.expiresAt}; ${NEW_PLAN}`);
  }
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const change of content.changes) {
    if (seen.has(change.appInstanceUserId)) duplicates.add(change.appInstanceUserId);
    seen.add(change.appInstanceUserId);
  }
  if (duplicates.size > 0) {
    return refuse(
      'duplicate-users',
      `the plan changes ${duplicates.size} user(s) more than once (${[...duplicates].slice(0, 5).join(', ')}); a plan has one change per user; nothing applied`,
    );
  }
  return { ok: true, plan: parsed.data };
}

/**
 * The file against the stored policy: made from the version stored now, for the AppInstance that policy
 * governs, and every change's user ARN the one built from that AppInstance and the change's user id (a
 * change cannot name a user of another AppInstance, nor carry another user's ARN under its id).
 */
export function checkAgainstPolicy(
  plan: PlanFile,
  stored: { readonly version: number; readonly appInstanceArn: string },
  userArn: (appInstanceArn: string, appInstanceUserId: string) => string,
): PlanRefusal | null {
  if (plan.policyVersion !== stored.version) {
    return {
      reason: 'policy-moved-on',
      message: `the plan was made from policy version ${plan.policyVersion}, but version ${stored.version} is stored now; ${NEW_PLAN}`,
    };
  }
  if (plan.appInstanceArn !== stored.appInstanceArn) {
    return {
      reason: 'wrong-app-instance',
      message: `the plan names AppInstance ${plan.appInstanceArn}, but the policy of tenant ${plan.tenantId} governs ${stored.appInstanceArn}; nothing applied`,
    };
  }
  const wrong = plan.changes.filter(
    (change) => change.appInstanceUserArn !== userArn(stored.appInstanceArn, change.appInstanceUserId),
  );
  if (wrong.length > 0) {
    return {
      reason: 'arn-mismatch',
      message: `${wrong.length} change(s) carry a user ARN that is not their user's in the tenant's AppInstance (${wrong
        .slice(0, 3)
        .map((change) => change.appInstanceUserId)
        .join(', ')}): the ARN is built from the policy's AppInstance and the user id; nothing applied`,
    };
  }
  return null;
}
