import { describe, expect, it } from 'vitest';
import {
  compilePolicy,
  DAY_MS,
  type Decision,
  decide,
  expiresAt,
  needsCreatedTimestamp,
  type Policy,
  type PolicyUser,
  parsePolicy,
  resolveExpiration,
} from '../../../shared/policy';
import { EXAMPLE_DOCUMENT, policyOf, policyWithRules } from './fixtures';

const NOW = Date.UTC(2025, 5, 15, 12, 0, 0);
/** A user created 100 days ago, to the millisecond, so day arithmetic is easy to follow. */
const CREATED_100_DAYS_AGO = NOW - 100 * DAY_MS;

function example(): Policy {
  const result = parsePolicy(EXAMPLE_DOCUMENT);
  if (!result.ok) throw new Error('example policy must parse');
  return result.policy;
}

function ruleFor(policy: Policy, user: PolicyUser): string | null {
  return resolveExpiration(policy, user).ruleId;
}

describe('selectors', () => {
  const policy = policyWithRules([
    { id: 'guests', match: { userIdPrefix: 'guest-' }, expiration: { days: 7 } },
  ]);

  it.each<[string, boolean]>([
    ['guest-1', true],
    ['guest-', true],
    ['Guest-1', false],
    ['xguest-1', false],
    ['guest', false],
  ])('userIdPrefix guest- on %s → %s', (userId, matches) => {
    expect(ruleFor(policy, { appInstanceUserId: userId })).toBe(matches ? 'guests' : null);
  });

  it.each<[string, string, boolean]>([
    ['^emp-[0-9]+$', 'emp-42', true],
    ['^emp-[0-9]+$', 'emp-42x', false],
    ['^emp-[0-9]+$', 'xemp-42', false],
    ['emp', 'the-emp-42', true],
    ['emp$', 'the-emp', true],
    ['emp$', 'emp-x', false],
    ['^emp', 'emp-x', true],
    ['(?i)^EMP', 'emp-x', true],
    ['^a|b$', 'xxb', true],
  ])('userIdPattern %s on %s → %s (search, like RegExp.test)', (pattern, userId, matches) => {
    const withPattern = policyWithRules([
      { id: 'p', match: { userIdPattern: pattern }, expiration: 'never' },
    ]);
    expect(ruleFor(withPattern, { appInstanceUserId: userId })).toBe(matches ? 'p' : null);
    // Same answer as a JS RegExp for patterns both engines understand, except RE2-only syntax like (?i).
    if (!pattern.startsWith('(?i)')) expect(new RegExp(pattern).test(userId)).toBe(matches);
  });

  it('stays linear on a catastrophic-backtracking pattern', () => {
    const hostile = policyWithRules([{ id: 'p', match: { userIdPattern: '(a+)+$' }, expiration: 'never' }]);
    const userId = `${'a'.repeat(10_000)}b`;
    const started = performance.now();
    // No match (the string ends in b), which a backtracking engine only finds after exponentially many tries.
    expect(ruleFor(hostile, { appInstanceUserId: userId })).toBeNull();
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  const metadataPolicy = policyWithRules([
    { id: 'trial', match: { metadata: { plan: ['trial', 'poc'] } }, expiration: { days: 30 } },
    { id: 'gold', match: { metadata: { tier: 'gold' } }, expiration: { days: 60 } },
  ]);

  it.each<[string, string | undefined, string | null]>([
    ['a listed value', '{"plan":"trial"}', 'trial'],
    ['another listed value', '{"plan":"poc","other":1}', 'trial'],
    ['an unlisted value', '{"plan":"paid"}', null],
    ['a single-string selector', '{"tier":"gold"}', 'gold'],
    ['a number where a string is expected', '{"tier":1}', null],
    ['a numeric string vs number', '{"plan":["trial"]}', null],
    ['null value', '{"plan":null}', null],
    ['a missing key', '{"other":"trial"}', null],
    ['invalid JSON', '{plan: trial}', null],
    ['a JSON array', '["trial"]', null],
    ['a JSON string', '"trial"', null],
    ['JSON null', 'null', null],
    ['an empty string', '', null],
    ['absent metadata', undefined, null],
    ['a nested object', '{"plan":{"name":"trial"}}', null],
  ])('metadata selector with %s', (_name, metadata, expected) => {
    expect(ruleFor(metadataPolicy, { appInstanceUserId: 'u1', metadata })).toBe(expected);
  });

  it.each<[string, string | undefined, boolean]>([
    ['an own __proto__ key', '{"__proto__":"x","plan":"trial"}', true],
    ['only the plan', '{"plan":"trial"}', false],
    ['an own constructor key', '{"constructor":"x","plan":"trial"}', false],
  ])('treats __proto__ as an ordinary metadata key: %s', (_name, metadata, matches) => {
    const parsed = parsePolicy({
      ...EXAMPLE_DOCUMENT,
      rules: [
        {
          id: 'odd',
          priority: 1,
          match: JSON.parse('{"metadata":{"__proto__":"x","plan":"trial"}}'),
          expiration: 'never',
        },
      ],
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    expect(ruleFor(parsed.policy, { appInstanceUserId: 'u1', metadata })).toBe(matches ? 'odd' : null);
  });

  it('matches a metadata key named constructor only against own string values', () => {
    const policy = policyWithRules([
      { id: 'ctor', match: { metadata: { constructor: 'x' } }, expiration: 'never' },
    ]);
    expect(ruleFor(policy, { appInstanceUserId: 'u1', metadata: '{}' })).toBeNull();
    expect(ruleFor(policy, { appInstanceUserId: 'u1', metadata: '{"constructor":"x"}' })).toBe('ctor');
  });

  const andPolicy = policyWithRules([
    {
      id: 'all',
      match: {
        userIdPrefix: 'guest-',
        userIdPattern: '[0-9]$',
        metadata: { plan: 'trial', region: ['eu', 'us'] },
      },
      expiration: { days: 3 },
    },
  ]);

  it.each<[string, PolicyUser, boolean]>([
    ['every selector', { appInstanceUserId: 'guest-1', metadata: '{"plan":"trial","region":"eu"}' }, true],
    ['wrong prefix', { appInstanceUserId: 'user-1', metadata: '{"plan":"trial","region":"eu"}' }, false],
    ['wrong pattern', { appInstanceUserId: 'guest-a', metadata: '{"plan":"trial","region":"eu"}' }, false],
    ['one metadata key missing', { appInstanceUserId: 'guest-1', metadata: '{"plan":"trial"}' }, false],
    [
      'one metadata value wrong',
      { appInstanceUserId: 'guest-1', metadata: '{"plan":"trial","region":"ap"}' },
      false,
    ],
  ])('AND semantics: %s → %s', (_name, user, matches) => {
    expect(ruleFor(andPolicy, user)).toBe(matches ? 'all' : null);
  });

  it.each<[string, PolicyUser]>([
    ['any id', { appInstanceUserId: 'anything' }],
    ['invalid metadata', { appInstanceUserId: 'x', metadata: 'not json' }],
  ])('an empty match matches %s', (_name, user) => {
    const everyone = policyWithRules([{ id: 'everyone', match: {}, expiration: { days: 90 } }]);
    expect(ruleFor(everyone, user)).toBe('everyone');
  });
});

describe('conflict rule', () => {
  const rules = [
    { id: 'low', priority: 5, match: { userIdPrefix: 'guest-' }, expiration: { days: 7 } },
    { id: 'mid', priority: 50, match: { userIdPrefix: 'guest-vip-' }, expiration: { days: 30 } },
    { id: 'high', priority: 500, match: {}, expiration: 'never' },
  ] as const;

  it.each([
    ['declared order', [0, 1, 2]],
    ['reversed', [2, 1, 0]],
    ['shuffled', [1, 2, 0]],
  ])('takes the lowest priority that matches regardless of array order (%s)', (_name, order) => {
    const policy = policyOf({ rules: order.map((index) => ({ ...rules[index as 0 | 1 | 2] })) });
    expect(ruleFor(policy, { appInstanceUserId: 'guest-vip-1' })).toBe('low');
    expect(ruleFor(policy, { appInstanceUserId: 'svc-1' })).toBe('high');
    expect(compilePolicy(policy).rules.map((rule) => rule.id)).toEqual(['low', 'mid', 'high']);
  });

  it.each<[string, string, string | null, 'rule' | 'default' | 'none']>([
    ['guest-1', 'example', 'guests', 'rule'],
    ['emp-7', 'example', 'staff', 'rule'],
    ['svc-7', 'example', 'service', 'rule'],
    ['alice', 'example', null, 'default'],
    ['alice', 'no default', null, 'none'],
  ])('%s under the %s policy → rule %s, source %s', (userId, which, ruleId, source) => {
    const policy = which === 'example' ? example() : policyOf({ rules: EXAMPLE_DOCUMENT.rules });
    const decision = decide(policy, { appInstanceUserId: userId }, { createdAt: CREATED_100_DAYS_AGO }, NOW);
    expect([decision.ruleId, decision.source]).toEqual([ruleId, source]);
  });

  it('leaves users unmanaged when nothing matches and there is no default', () => {
    const policy = policyOf({ rules: EXAMPLE_DOCUMENT.rules });
    const decision = decide(
      policy,
      { appInstanceUserId: 'alice' },
      { createdAt: CREATED_100_DAYS_AGO, expirationDays: 5 },
      NOW,
    );
    expect(decision).toMatchObject({
      intent: 'unmanaged',
      desired: { kind: 'leave' },
      changes: false,
      reason: 'no matching rule and no default: unmanaged',
    });
  });
});

describe('never and unmanaged', () => {
  const policy = example();
  const created = CREATED_100_DAYS_AGO;

  it.each<[string, number | undefined, Partial<Decision>]>([
    [
      'removes an expiration',
      200,
      {
        intent: 'never',
        desired: { kind: 'remove' },
        changes: true,
        shortens: false,
        rescue: false,
        desiredExpiresAt: null,
      },
    ],
    [
      'rescues an expired user by removing its expiration',
      50,
      {
        desired: { kind: 'remove' },
        changes: true,
        rescue: true,
        reason: 'rule staff: never expires, remove expiration; rescue: expired but not yet deleted',
      },
    ],
    [
      'leaves a user without expiration',
      undefined,
      {
        desired: { kind: 'leave' },
        changes: false,
        desiredExpiresAt: null,
        reason: 'rule staff: never expires (already none)',
      },
    ],
  ])('never %s', (_name, expirationDays, expected) => {
    const decision = decide(
      policy,
      { appInstanceUserId: 'emp-1' },
      { createdAt: created, expirationDays },
      NOW,
    );
    expect(decision).toMatchObject(expected);
  });

  it.each<[number | undefined]>([
    [1],
    [5475],
    [undefined],
  ])('unmanaged never writes (current %s)', (expirationDays) => {
    const decision = decide(
      policy,
      { appInstanceUserId: 'svc-1' },
      { createdAt: created, expirationDays },
      NOW,
    );
    expect(decision).toMatchObject({
      intent: 'unmanaged',
      desired: { kind: 'leave' },
      changes: false,
      shortens: false,
      currentExpiresAt: expirationDays === undefined ? null : expiresAt(created, expirationDays),
      reason: 'rule service: unmanaged',
    });
    expect(decision.desiredExpiresAt).toBe(decision.currentExpiresAt);
  });
});

describe('days and the floor', () => {
  /** guests get 7 days; minRemainingDays 1 unless overridden. */
  function guests(days: number, minRemainingDays = 1): Policy {
    return policyWithRules([{ id: 'guests', match: { userIdPrefix: 'guest-' }, expiration: { days } }], {
      safety: { minRemainingDays },
    });
  }
  const user = { appInstanceUserId: 'guest-1' };

  it.each<[string, Policy, number, number | undefined, Partial<Decision>]>([
    [
      'already set',
      guests(7),
      NOW - 2 * DAY_MS,
      7,
      {
        desired: { kind: 'leave' },
        changes: false,
        floored: false,
        reason: 'rule guests: 7 days (already set)',
      },
    ],
    [
      'shortens outside the floor window',
      guests(7),
      NOW - 2 * DAY_MS,
      30,
      {
        desired: { kind: 'set', days: 7 },
        changes: true,
        shortens: true,
        floored: false,
        reason: 'rule guests: 7 days',
      },
    ],
    [
      'adds an expiration to a user without one (shortening)',
      guests(7),
      NOW - 2 * DAY_MS,
      undefined,
      { desired: { kind: 'set', days: 7 }, shortens: true, currentExpiresAt: null },
    ],
    [
      'raises a target inside the floor window to the floor, rounding up to whole days',
      guests(7),
      NOW - 10 * DAY_MS - 1,
      30,
      {
        desired: { kind: 'set', days: 12 },
        shortens: true,
        floored: true,
        reason: 'rule guests: 7 days; floor: raised to 12 days to keep 1 day remaining',
      },
    ],
    [
      'lands exactly on the floor when it falls on a whole day',
      guests(7),
      NOW - 10 * DAY_MS,
      30,
      { desired: { kind: 'set', days: 11 }, floored: true, desiredExpiresAt: NOW + DAY_MS },
    ],
    [
      'keeps a user already inside the floor window',
      guests(7),
      NOW - 10 * DAY_MS,
      11,
      {
        desired: { kind: 'leave' },
        changes: false,
        floored: true,
        desiredExpiresAt: NOW + DAY_MS,
        reason: 'rule guests: 7 days; floor: already inside the floor window, kept',
      },
    ],
    [
      'keeps an expiry that is sooner than the floor (never moved later by the floor)',
      guests(7, 30),
      NOW - 10 * DAY_MS,
      12,
      { desired: { kind: 'leave' }, changes: false, floored: true, desiredExpiresAt: NOW + 2 * DAY_MS },
    ],
    [
      'sets a target exactly at the floor instant without flooring',
      guests(11),
      NOW - 10 * DAY_MS,
      30,
      { desired: { kind: 'set', days: 11 }, floored: false, desiredExpiresAt: NOW + DAY_MS },
    ],
    [
      'with minRemainingDays 0 may set an expiry of exactly now',
      guests(10, 0),
      NOW - 10 * DAY_MS,
      30,
      { desired: { kind: 'set', days: 10 }, floored: false, desiredExpiresAt: NOW },
    ],
    [
      'lengthens',
      guests(30),
      NOW - 2 * DAY_MS,
      7,
      {
        desired: { kind: 'set', days: 30 },
        shortens: false,
        rescue: false,
        floored: false,
        reason: 'rule guests: 30 days',
      },
    ],
    [
      'rescues an expired user',
      guests(30),
      NOW - 40 * DAY_MS,
      7,
      {
        desired: { kind: 'set', days: 41 },
        shortens: false,
        rescue: true,
        floored: true,
        reason:
          'rule guests: 30 days; floor: raised to 41 days to keep 1 day remaining; rescue: expired but not yet deleted',
      },
    ],
    [
      'rescues without flooring when the policy target is far enough',
      guests(60),
      NOW - 40 * DAY_MS,
      7,
      { desired: { kind: 'set', days: 60 }, rescue: true, floored: false },
    ],
    [
      'does not call an expiry of exactly now a rescue',
      guests(30),
      NOW - 7 * DAY_MS,
      7,
      { desired: { kind: 'set', days: 30 }, rescue: false },
    ],
    [
      'clamps a lengthening floor at 5475 days for a very old user',
      guests(365),
      NOW - 5480 * DAY_MS,
      30,
      {
        desired: { kind: 'set', days: 5475 },
        shortens: false,
        rescue: true,
        floored: true,
        clamped: true,
        desiredExpiresAt: NOW - 5 * DAY_MS,
      },
    ],
    [
      'leaves a very old user without expiration when the floor cannot be met within 5475 days',
      guests(365),
      NOW - 5480 * DAY_MS,
      undefined,
      {
        desired: { kind: 'leave' },
        changes: false,
        floored: true,
        reason: 'rule guests: 365 days; floor: cannot keep 1 day remaining within 5475 days, left unchanged',
      },
    ],
    [
      'sets the floor at exactly 5475 days when that reaches it',
      guests(365),
      NOW - 5474 * DAY_MS,
      undefined,
      { desired: { kind: 'set', days: 5475 }, shortens: true, floored: true, clamped: false },
    ],
    [
      'uses at least 1 day for a user created in the future (clock skew)',
      guests(7, 0),
      NOW + DAY_MS,
      30,
      { desired: { kind: 'set', days: 7 } },
    ],
  ])('%s', (_name, policy, createdAt, expirationDays, expected) => {
    const decision = decide(policy, user, { createdAt, expirationDays }, NOW);
    expect(decision).toMatchObject({ ruleId: 'guests', source: 'rule', intent: 'days', ...expected });
    if (decision.desired.kind === 'set') {
      expect(decision.desiredExpiresAt).toBe(expiresAt(createdAt, decision.desired.days));
    }
  });

  it('applies the default when no rule matches', () => {
    const decision = decide(
      example(),
      { appInstanceUserId: 'alice' },
      { createdAt: CREATED_100_DAYS_AGO },
      NOW,
    );
    expect(decision).toMatchObject({
      ruleId: null,
      source: 'default',
      intent: 'days',
      intendedDays: 365,
      desired: { kind: 'set', days: 365 },
      reason: 'default: 365 days',
    });
  });

  it('reports current and desired instants', () => {
    const decision = decide(guests(7), user, { createdAt: NOW - 2 * DAY_MS, expirationDays: 30 }, NOW);
    expect(decision.currentExpiresAt).toBe(NOW + 28 * DAY_MS);
    expect(decision.desiredExpiresAt).toBe(NOW + 5 * DAY_MS);
  });

  it('rejects non-finite instants instead of deciding on NaN', () => {
    expect(() => decide(guests(7), user, { createdAt: Number.NaN }, NOW)).toThrow(RangeError);
    expect(() => decide(guests(7), user, { createdAt: NOW }, Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('metadata parsing', () => {
  it('parses metadata lazily: not at all when the deciding rule needs none', () => {
    const policy = policyWithRules([
      { id: 'guests', match: { userIdPrefix: 'guest-' }, expiration: { days: 7 } },
      { id: 'trial', match: { metadata: { plan: 'trial' } }, expiration: { days: 30 } },
    ]);
    let reads = 0;
    const user = {
      appInstanceUserId: 'guest-1',
      get metadata() {
        reads += 1;
        return '{"plan":"trial"}';
      },
    };
    expect(resolveExpiration(policy, user).ruleId).toBe('guests');
    expect(reads).toBe(0);
  });

  it('parses metadata at most once per decision', () => {
    const policy = policyWithRules([
      { id: 'a', match: { metadata: { plan: 'x' } }, expiration: { days: 7 } },
      { id: 'b', match: { metadata: { plan: 'y' } }, expiration: { days: 8 } },
      { id: 'c', match: { metadata: { plan: 'trial' } }, expiration: { days: 30 } },
    ]);
    let reads = 0;
    const user = {
      appInstanceUserId: 'u',
      get metadata() {
        reads += 1;
        return '{"plan":"trial"}';
      },
    };
    expect(decide(policy, user, { createdAt: CREATED_100_DAYS_AGO }, NOW).ruleId).toBe('c');
    expect(reads).toBe(1);
  });
});

describe('needsCreatedTimestamp', () => {
  it.each<[string, string, boolean]>([
    ['a days rule', 'guest-1', true],
    ['a never rule', 'emp-1', false],
    ['an unmanaged rule', 'svc-1', false],
    ['a days default', 'alice', true],
  ])('is %3$s for %1$s', (_name, userId, expected) => {
    expect(needsCreatedTimestamp(example(), { appInstanceUserId: userId })).toBe(expected);
  });

  it('is false when nothing matches and there is no default', () => {
    expect(
      needsCreatedTimestamp(policyOf({ rules: EXAMPLE_DOCUMENT.rules }), { appInstanceUserId: 'alice' }),
    ).toBe(false);
  });
});

describe('compiled policies', () => {
  it('decides the same from a Policy and from its compiled form, and caches the compilation', () => {
    const policy = example();
    const compiled = compilePolicy(policy);
    expect(compilePolicy(policy)).toBe(compiled);
    const user = { appInstanceUserId: 'guest-9' };
    const current = { createdAt: CREATED_100_DAYS_AGO, expirationDays: 400 };
    expect(decide(compiled, user, current, NOW)).toEqual(decide(policy, user, current, NOW));
  });
});

describe('the worked example in docs/policy.md', () => {
  const now = Date.UTC(2025, 5, 15, 12);
  const policy = example();

  it.each<[string, string | undefined, number, number | undefined, Decision['desired'], string]>([
    ['guest-17', undefined, 3, undefined, { kind: 'set', days: 7 }, 'rule guests: 7 days'],
    [
      'guest-42',
      undefined,
      30,
      undefined,
      { kind: 'set', days: 31 },
      'rule guests: 7 days; floor: raised to 31 days to keep 1 day remaining',
    ],
    [
      'guest-9',
      undefined,
      6.5,
      30,
      { kind: 'set', days: 8 },
      'rule guests: 7 days; floor: raised to 8 days to keep 1 day remaining',
    ],
    [
      'guest-5',
      undefined,
      30.5,
      31,
      { kind: 'leave' },
      'rule guests: 7 days; floor: already inside the floor window, kept',
    ],
    [
      'carol',
      '{"plan":"poc"}',
      40,
      20,
      { kind: 'set', days: 41 },
      'rule trial: 30 days; floor: raised to 41 days to keep 1 day remaining; rescue: expired but not yet deleted',
    ],
    [
      'emp-1001',
      undefined,
      400,
      365,
      { kind: 'remove' },
      'rule staff: never expires, remove expiration; rescue: expired but not yet deleted',
    ],
    ['svc-backup', undefined, 900, undefined, { kind: 'leave' }, 'rule service: unmanaged'],
    ['dave', '{"plan":"enterprise"}', 10, undefined, { kind: 'set', days: 365 }, 'default: 365 days'],
    ['erin', 'not json', 400, 365, { kind: 'leave' }, 'default: 365 days (already set)'],
  ])('%s', (userId, metadata, ageDays, expirationDays, desired, reason) => {
    const decision = decide(
      policy,
      { appInstanceUserId: userId, metadata },
      { createdAt: now - ageDays * DAY_MS, expirationDays },
      now,
    );
    expect([decision.desired, decision.reason]).toEqual([desired, reason]);
  });
});
