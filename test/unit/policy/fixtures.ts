import { type Policy, type PolicyInput, parsePolicy } from '../../../shared/policy';

export const APP_INSTANCE_ARN =
  'arn:aws:chime:us-east-1:111122223333:app-instance/8f1c4c6e-0a1b-4f7e-9d55-2a9b1c3d4e5f';

/** The example from docs/policy.md. */
export const EXAMPLE_DOCUMENT = {
  tenantId: 'acme',
  appInstanceArn: APP_INSTANCE_ARN,
  enabled: true,
  rules: [
    { id: 'guests', priority: 10, match: { userIdPrefix: 'guest-' }, expiration: { days: 7 } },
    { id: 'trial', priority: 20, match: { metadata: { plan: ['trial', 'poc'] } }, expiration: { days: 30 } },
    { id: 'staff', priority: 30, match: { userIdPattern: '^emp-[0-9]+$' }, expiration: 'never' },
    { id: 'service', priority: 40, match: { userIdPrefix: 'svc-' }, expiration: 'unmanaged' },
  ],
  default: { expiration: { days: 365 } },
  safety: { minRemainingDays: 1, maxShorteningChanges: 100, maxShorteningPercent: 10 },
} satisfies PolicyInput;

/** Parses a document built from `overrides` on top of a minimal valid one; fails the test on any problem. */
export function policyOf(overrides: Partial<PolicyInput> = {}): Policy {
  const result = parsePolicy({ tenantId: 'acme', appInstanceArn: APP_INSTANCE_ARN, rules: [], ...overrides });
  if (!result.ok) throw new Error(`fixture policy is invalid: ${JSON.stringify(result.problems)}`);
  return result.policy;
}

type RuleInput = PolicyInput['rules'][number];

/** A policy whose rules get priorities 10, 20, 30... in the order given. */
export function policyWithRules(
  rules: readonly Omit<RuleInput, 'priority'>[],
  overrides: Partial<PolicyInput> = {},
): Policy {
  return policyOf({
    rules: rules.map((rule, index) => ({ ...rule, priority: (index + 1) * 10 })),
    ...overrides,
  });
}
