import { z } from 'zod';
import { accessSchema } from './access';
import { appInstanceArnProblem } from './arn';
import { accessProblems, crossRuleProblems, storageProblems } from './document-checks';
import { fieldError, identifier, strictObject } from './fields';
import { MAX_EXEMPTIONS, MAX_RULES } from './limits';
import { exemptionSchema, expirationSchema, notifySchema, ruleSchema, safetySchema } from './parts';
import { collectProblems, dedupe, type PolicyProblem } from './problems';

// The entry of the policy document's schema: the whole document and parsePolicy. Its parts live in sibling
// modules (limits, arn, fields, parts, problems, document-checks) and are re-exported here, so importers keep
// one place to import from.
export { parseRoleArn, type RoleArnParts, type TenantAccess } from './access';
export { type AppInstanceArnParts, isChimeArn, parseAppInstanceArn } from './arn';
export { IDENTIFIER_MESSAGE, TENANT_ID_PATTERN } from './fields';
export type { DaysExpiration } from './kinds/expirations/days';
export type { InactiveExpiration } from './kinds/expirations/inactive-days';
export {
  MAX_METADATA_KEYS,
  MAX_METADATA_VALUES,
  type MetadataSelector,
} from './kinds/selectors/metadata';
export { compileUserIdPattern, MAX_PATTERN_LENGTH } from './kinds/selectors/user-id-pattern';
export { MAX_EXEMPTION_USER_IDS } from './kinds/selectors/user-ids';
export {
  DEFAULT_SAFETY,
  DYNAMODB_MAX_MAGNITUDE,
  DYNAMODB_MIN_MAGNITUDE,
  MAX_DOCUMENT_BYTES,
  MAX_EXEMPTIONS,
  MAX_EXPIRATION_DAYS,
  MAX_PRIORITY,
  MAX_RULES,
  MIN_EXPIRATION_DAYS,
} from './limits';
export { formatPath, formatProblems, type PolicyProblem } from './problems';

export type ParsePolicyResult = { ok: true; policy: Policy } | { ok: false; problems: PolicyProblem[] };

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
    /** Chime calls through a role of the AppInstance's account (another AWS account); absent: our own. */
    access: accessSchema.optional(),
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
export type NotifySettings = NonNullable<Policy['notify']>;
export type SafetySettings = Policy['safety'];
export type PolicyExemption = Policy['exemptions'][number];

/** Validates a policy document and reports every problem at once, each with its JSON path. */
export function parsePolicy(input: unknown): ParsePolicyResult {
  const storage = storageProblems(input);
  // A document too large to store is not examined further: its size is the one thing to fix first.
  if (storage.some((problem) => problem.message.includes('the limit is')))
    return { ok: false, problems: storage };
  const result = policySchema.safeParse(input);
  const problems: PolicyProblem[] = [];
  if (!result.success) collectProblems(result.error.issues, [], problems);
  problems.push(...crossRuleProblems(input), ...accessProblems(input));
  // A value the schema already bounds (priority 1e300) needs one message, the schema's own.
  const reported = new Set(problems.map((problem) => problem.path));
  problems.push(...storage.filter((problem) => !reported.has(problem.path)));
  if (result.success && problems.length === 0) return { ok: true, policy: result.data };
  return { ok: false, problems: dedupe(problems) };
}
