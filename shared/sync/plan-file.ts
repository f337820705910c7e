import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { LedgerEntry } from '../contracts/ledger';
import type { EventSink } from '../contracts/lifecycle-events';
import { DAY_MS } from '../policy';
import type { Plan } from './plan';
import type { LedgerPort, RunPort, UserDirectory } from './ports';

/**
 * An approved plan: the exact changes a reviewer saw, bound to the policy version they came from, valid for
 * a limited time and sealed with a SHA-256 over its canonical content. `sync --apply` writes exactly these
 * changes, or none of them when the seal, the time or the policy version says the plan is not the one
 * approved (Terraform's saved plan, for expirations).
 */
export const PLAN_FILE_FORMAT = 'chime-lifecycle-plan/1';
export const DEFAULT_PLAN_VALIDITY_MS = DAY_MS;
/** A plan may be valid for at most this long: the longer, the likelier every user drifted meanwhile. */
export const MAX_PLAN_VALIDITY_MS = 30 * DAY_MS;

const days = z.number().int().min(1).max(5475).nullable();

const changeSchema = z.strictObject({
  appInstanceUserId: z.string().min(1),
  appInstanceUserArn: z.string().min(1),
  /** ExpirationDays as the plan read them (null: none). */
  current: z.strictObject({ expirationDays: days }),
  desired: z.strictObject({ expirationDays: days }),
  ruleId: z.string().min(1).nullable(),
  shortens: z.boolean(),
});

const contentSchema = z.strictObject({
  format: z.literal(PLAN_FILE_FORMAT),
  tenantId: z.string().min(1),
  appInstanceArn: z.string().min(1),
  policyVersion: z.number().int().min(1),
  generatedAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  changes: z.array(changeSchema),
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

/** The plan file for a plan made from stored policy version `policyVersion`. */
export function createPlanFile(
  plan: Plan,
  policyVersion: number,
  now: number,
  validForMs: number = DEFAULT_PLAN_VALIDITY_MS,
): PlanFile {
  if (!(validForMs > 0 && validForMs <= MAX_PLAN_VALIDITY_MS)) {
    throw new RangeError(`a plan is valid for more than 0 and at most ${MAX_PLAN_VALIDITY_MS / DAY_MS} days`);
  }
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
      current: { expirationDays: change.currentDays },
      desired: { expirationDays: change.desiredDays },
      ruleId: change.ruleId,
      shortens: change.shortens,
    })),
  };
  return { ...content, sha256: planHash(content) };
}

export type PlanRefusal =
  | { readonly reason: 'malformed'; readonly message: string }
  | { readonly reason: 'hash-mismatch'; readonly message: string }
  | { readonly reason: 'expired'; readonly message: string }
  | { readonly reason: 'wrong-tenant'; readonly message: string }
  | { readonly reason: 'policy-moved-on'; readonly message: string };

export type PlanCheck =
  | { readonly ok: true; readonly plan: PlanFile }
  | { readonly ok: false; readonly refusal: PlanRefusal };

/**
 * Whether a plan file may be applied, as a whole: well formed, its seal matching its content (one hand edit
 * anywhere refuses it), not expired, for this tenant, and made from the policy version stored now.
 */
export function checkPlanFile(
  raw: unknown,
  expected: { readonly tenantId: string; readonly policyVersion: number; readonly now: number },
): PlanCheck {
  const parsed = planFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    return {
      ok: false,
      refusal: { reason: 'malformed', message: `not a chime-lifecycle plan file: ${problems}` },
    };
  }
  const { sha256, ...content } = parsed.data;
  const actual = planHash(content);
  if (actual !== sha256) {
    return {
      ok: false,
      refusal: {
        reason: 'hash-mismatch',
        message: `the plan's content does not match its sha256 (it was edited after it was made: expected ${sha256}, content hashes to ${actual}); nothing applied. Make a new plan with \`plan --out\``,
      },
    };
  }
  if (content.tenantId !== expected.tenantId) {
    return {
      ok: false,
      refusal: {
        reason: 'wrong-tenant',
        message: `the plan is for tenant ${content.tenantId}, not ${expected.tenantId}; nothing applied`,
      },
    };
  }
  if (Date.parse(content.expiresAt) <= expected.now) {
    return {
      ok: false,
      refusal: {
        reason: 'expired',
        message: `the plan expired at ${content.expiresAt}; nothing applied. Make a new plan with \`plan --out\``,
      },
    };
  }
  if (content.policyVersion !== expected.policyVersion) {
    return {
      ok: false,
      refusal: {
        reason: 'policy-moved-on',
        message: `the plan was made from policy version ${content.policyVersion}, but version ${expected.policyVersion} is stored now; nothing applied. Make a new plan with \`plan --out\``,
      },
    };
  }
  return { ok: true, plan: parsed.data };
}

export interface AppliedPlanChange {
  readonly appInstanceUserId: string;
  readonly outcome: 'applied' | 'drifted' | 'gone' | 'protected';
  /** For `drifted`: the user's ExpirationDays now (null: none), where the plan expected `current`. */
  readonly found?: number | null;
}

export interface PlanApplication {
  readonly tenantId: string;
  readonly sha256: string;
  readonly policyVersion: number;
  readonly applied: number;
  readonly skipped: number;
  readonly changes: readonly AppliedPlanChange[];
}

export interface ApplyPlanDeps {
  readonly users: Pick<UserDirectory, 'describe' | 'putExpiration' | 'listAdmins'>;
  readonly ledger: Pick<LedgerPort, 'getMany' | 'putMany'>;
  readonly runs: Pick<RunPort, 'removePending'>;
  readonly events: EventSink;
  readonly now: () => number;
  /** Whether the stored policy protects admins (a user promoted since the plan was made is skipped). */
  readonly protectAdmins: boolean;
}

/**
 * Applies a checked plan: for each change, one Describe; the write happens only when the user's expiration
 * is still the plan's `current` (otherwise it is skipped as drift: someone or something changed it after the
 * review). Applied users leave the pending list of a held run, so a held run is released this way too.
 * Publishes "Plan Applied" with the plan's hash.
 */
export async function applyPlanFile(plan: PlanFile, deps: ApplyPlanDeps): Promise<PlanApplication> {
  const now = deps.now();
  const admins = deps.protectAdmins ? await deps.users.listAdmins(plan.appInstanceArn) : new Set<string>();
  const known = await deps.ledger.getMany(
    plan.tenantId,
    plan.changes.map((change) => change.appInstanceUserId),
  );
  const results: AppliedPlanChange[] = [];
  const entries: LedgerEntry[] = [];
  // One user at a time: a plan is a reviewed, bounded list, and the rate limiter paces the calls anyway.
  for (const change of plan.changes) {
    const id = change.appInstanceUserId;
    if (admins.has(id)) {
      results.push({ appInstanceUserId: id, outcome: 'protected' });
      continue;
    }
    const current = await deps.users.describe(change.appInstanceUserArn);
    if (!current) {
      results.push({ appInstanceUserId: id, outcome: 'gone' });
      continue;
    }
    const found = current.expirationDays ?? null;
    if (found !== change.current.expirationDays) {
      results.push({ appInstanceUserId: id, outcome: 'drifted', found });
      continue;
    }
    await deps.users.putExpiration(change.appInstanceUserArn, change.desired.expirationDays);
    results.push({ appInstanceUserId: id, outcome: 'applied' });
    const entry = known.get(id);
    entries.push({
      ...entry,
      appInstanceUserId: id,
      createdAt: current.createdAt,
      expirationDays: change.desired.expirationDays,
      verifiedAt: now,
      appliedPolicyVersion: plan.policyVersion,
      ...(change.ruleId === null ? {} : { appliedRuleId: change.ruleId }),
    });
  }
  const appliedIds = results.filter((result) => result.outcome === 'applied').map((r) => r.appInstanceUserId);
  if (entries.length > 0) await deps.ledger.putMany(plan.tenantId, entries);
  if (appliedIds.length > 0) await deps.runs.removePending(plan.tenantId, appliedIds);
  const application: PlanApplication = {
    tenantId: plan.tenantId,
    sha256: plan.sha256,
    policyVersion: plan.policyVersion,
    applied: appliedIds.length,
    skipped: results.length - appliedIds.length,
    changes: results,
  };
  await deps.events.publish([
    {
      type: 'Plan Applied',
      detail: {
        tenantId: plan.tenantId,
        sha256: plan.sha256,
        policyVersion: plan.policyVersion,
        generatedAt: plan.generatedAt,
        applied: application.applied,
        skipped: application.skipped,
        drifted: results.filter((result) => result.outcome === 'drifted').length,
      },
    },
  ]);
  return application;
}
