import { describe, expect, it } from 'vitest';
import { DAY_MS, explainDecision, historyOf, type Policy } from '../../../shared/policy';
import { policyOf } from './fixtures';

const NOW = Date.UTC(2026, 3, 1);

const rules = (guestDays: number) => [
  { id: 'guests', priority: 10, match: { userIdPrefix: 'guest-' }, expiration: { days: guestDays } },
  { id: 'trial', priority: 20, match: { metadata: { plan: ['trial', 'poc'] } }, expiration: { days: 30 } },
  { id: 'staff', priority: 30, match: { userIdPattern: '^emp-[0-9]+$' }, expiration: 'never' as const },
];

describe('explain: the engine decision with its trace', () => {
  const policy = policyOf({ rules: rules(7), default: { expiration: { days: 365 } } });

  // [user id, metadata, why each tried rule did not match, winner source, rules not tried]
  it.each<[string, string | undefined, string[], string, string[]]>([
    ['guest-1', undefined, [], 'rule', ['trial', 'staff']],
    [
      'user-1',
      JSON.stringify({ plan: 'free' }),
      [
        'user id does not start with "guest-"',
        'metadata key "plan": the user\'s value is none of "trial", "poc"',
        'user id does not match userIdPattern "^emp-[0-9]+$"',
      ],
      'default',
      [],
    ],
    [
      'user-2',
      'not json',
      [
        'user id does not start with "guest-"',
        'metadata key "plan": the user\'s Metadata is absent or not a JSON object (wanted one of "trial", "poc")',
        'user id does not match userIdPattern "^emp-[0-9]+$"',
      ],
      'default',
      [],
    ],
    [
      'emp-7',
      JSON.stringify({ team: 'x' }),
      [
        'user id does not start with "guest-"',
        'metadata key "plan": absent from the user\'s Metadata (wanted one of "trial", "poc")',
      ],
      'rule',
      [],
    ],
  ])('%s', (userId, metadata, misses, source, notTried) => {
    const explanation = explainDecision(
      policy,
      { appInstanceUserId: userId, metadata },
      { createdAt: NOW - DAY_MS },
      NOW,
      undefined,
    );
    expect(explanation.steps.filter((step) => !step.matched).map((step) => step.why)).toEqual(misses);
    expect(explanation.decision.source).toBe(source);
    expect(explanation.notTried).toEqual(notTried);
    // The user's own metadata value never appears in an explanation.
    expect(JSON.stringify(explanation)).not.toContain('free');
  });

  it('names the admin protection and leaves the rules untried', () => {
    const explanation = explainDecision(
      policy,
      { appInstanceUserId: 'guest-1' },
      { createdAt: NOW - DAY_MS },
      NOW,
      new Set(['guest-1']),
    );
    expect(explanation.decision).toMatchObject({ source: 'admin', changes: false });
    expect(explanation.steps).toEqual([]);
    expect(explanation.notTried).toEqual(['guests', 'trial', 'staff']);
  });
});

describe('explain: the policy versions that touched the deciding rule', () => {
  const version = (n: number, policy: Policy) => ({
    version: n,
    updatedAt: `2026-0${n}-01T00:00:00Z`,
    policy,
  });
  it('lists added, changed and removed, oldest first, skipping versions that left it alone', () => {
    const versions = [
      version(1, policyOf({ rules: [] })),
      version(2, policyOf({ rules: rules(7) })),
      version(3, policyOf({ rules: rules(7), enabled: false })),
      version(4, policyOf({ rules: rules(14) })),
      version(5, policyOf({ rules: rules(14).slice(1) })),
    ];
    expect(historyOf(versions, 'rule', 'guests').map((entry) => [entry.version, entry.change])).toEqual([
      [2, 'added'],
      [4, 'changed'],
      [5, 'removed'],
    ]);
    expect(historyOf(versions, 'rule', 'staff').map((entry) => [entry.version, entry.change])).toEqual([
      [2, 'added'],
    ]);
  });
});
