import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SAFETY,
  formatProblems,
  MAX_RULES,
  type PolicyInput,
  parseAppInstanceArn,
  parsePolicy,
} from '../../../shared/policy';
import { APP_INSTANCE_ARN, EXAMPLE_DOCUMENT } from './fixtures';

function problemLines(input: unknown): string[] {
  const result = parsePolicy(input);
  if (result.ok) return [];
  return formatProblems(result.problems);
}

function withRule(rule: Record<string, unknown>): Record<string, unknown> {
  return { tenantId: 'acme', appInstanceArn: APP_INSTANCE_ARN, rules: [rule] };
}

function rule(overrides: Record<string, unknown>): Record<string, unknown> {
  return { id: 'r', priority: 1, match: {}, expiration: { days: 7 }, ...overrides };
}

describe('parsePolicy: valid documents', () => {
  it('accepts the documented example unchanged', () => {
    const result = parsePolicy(EXAMPLE_DOCUMENT);
    // The two members the example leaves out get their defaults: admins protected, no exemptions.
    expect(result).toEqual({
      ok: true,
      policy: { ...EXAMPLE_DOCUMENT, protectAdmins: true, exemptions: [] },
    });
  });

  it('applies defaults: enabled true, safety members, no default expiration', () => {
    const result = parsePolicy({ tenantId: 'acme', appInstanceArn: APP_INSTANCE_ARN, rules: [] });
    expect(result).toEqual({
      ok: true,
      policy: {
        tenantId: 'acme',
        appInstanceArn: APP_INSTANCE_ARN,
        enabled: true,
        rules: [],
        safety: DEFAULT_SAFETY,
        protectAdmins: true,
        exemptions: [],
      },
    });
  });

  it('fills in only the safety members that are missing', () => {
    const result = parsePolicy({ ...EXAMPLE_DOCUMENT, safety: { maxShorteningPercent: 2.5 } });
    expect(result.ok && result.policy.safety).toEqual({
      minRemainingDays: 1,
      maxShorteningChanges: 100,
      maxShorteningPercent: 2.5,
    });
  });

  it.each<[string, unknown]>([
    ['criterion CREATED_TIMESTAMP', { days: 30, criterion: 'CREATED_TIMESTAMP' }],
    ['days 1', { days: 1 }],
    ['days 5475', { days: 5475 }],
    ['never', 'never'],
    ['unmanaged', 'unmanaged'],
  ])('accepts expiration %s', (_name, expiration) => {
    expect(problemLines(withRule(rule({ expiration })))).toEqual([]);
  });

  it.each<[string, Record<string, unknown>]>([
    ['empty match', {}],
    ['all selectors', { userIdPrefix: 'a', userIdPattern: '^a', metadata: { plan: 'x', tier: ['a', 'b'] } }],
    [
      'metadata with 20 keys',
      { metadata: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v'])) },
    ],
    ['pattern of 256 characters', { userIdPattern: 'a'.repeat(256) }],
    ['prefix of 64 characters', { userIdPrefix: 'p'.repeat(64) }],
  ])('accepts match: %s', (_name, match) => {
    expect(problemLines(withRule(rule({ match })))).toEqual([]);
  });

  it('accepts exactly 100 rules', () => {
    const rules = Array.from({ length: MAX_RULES }, (_, i) => rule({ id: `r${i}`, priority: i }));
    expect(problemLines({ tenantId: 'acme', appInstanceArn: APP_INSTANCE_ARN, rules })).toEqual([]);
  });
});

describe('parsePolicy: problems', () => {
  it.each<[string, unknown, string[]]>([
    ['a non-object document', [], ['(root): must be a JSON object']],
    ['null', null, ['(root): must be a JSON object']],
    ['an empty object', {}, ['tenantId: is required', 'appInstanceArn: is required', 'rules: is required']],
    [
      'a bad tenant id',
      { tenantId: 'acme corp', appInstanceArn: APP_INSTANCE_ARN, rules: [] },
      ['tenantId: must be 1..64 characters of A-Z a-z 0-9 . _ -'],
    ],
    [
      'a tenant id of 65 characters',
      { tenantId: 't'.repeat(65), appInstanceArn: APP_INSTANCE_ARN, rules: [] },
      ['tenantId: must be 1..64 characters of A-Z a-z 0-9 . _ -'],
    ],
    [
      'enabled as a string',
      { tenantId: 'acme', appInstanceArn: APP_INSTANCE_ARN, rules: [], enabled: 'yes' },
      ['enabled: must be true or false'],
    ],
    [
      'rules as an object',
      { tenantId: 'acme', appInstanceArn: APP_INSTANCE_ARN, rules: {} },
      ['rules: must be an array of rules'],
    ],
  ])('reports %s', (_name, input, expected) => {
    expect(problemLines(input)).toEqual(expected);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['days 0', { expiration: { days: 0 } }, 'rules[0].expiration.days: must be an integer 1..5475'],
    ['days 5476', { expiration: { days: 5476 } }, 'rules[0].expiration.days: must be an integer 1..5475'],
    ['days 1.5', { expiration: { days: 1.5 } }, 'rules[0].expiration.days: must be an integer 1..5475'],
    ['days "7"', { expiration: { days: '7' } }, 'rules[0].expiration.days: must be an integer 1..5475'],
    ['days missing', { expiration: {} }, 'rules[0].expiration.days: is required'],
    [
      'another criterion',
      { expiration: { days: 7, criterion: 'LAST_ACTIVE' } },
      'rules[0].expiration.criterion: must be "CREATED_TIMESTAMP" (the only supported criterion)',
    ],
    [
      'a misspelt keyword',
      { expiration: 'nevr' },
      'rules[0].expiration: must be {"days": 1..5475}, {"inactiveDays": 1..5475}, "never" or "unmanaged"',
    ],
    [
      'a number',
      { expiration: 7 },
      'rules[0].expiration: must be {"days": 1..5475}, {"inactiveDays": 1..5475}, "never" or "unmanaged"',
    ],
    ['a missing expiration', { expiration: undefined }, 'rules[0].expiration: is required'],
    ['priority -1', { priority: -1 }, 'rules[0].priority: must be an integer 0..1000000'],
    ['priority 1000001', { priority: 1_000_001 }, 'rules[0].priority: must be an integer 0..1000000'],
    ['priority 1e300', { priority: 1e300 }, 'rules[0].priority: must be an integer 0..1000000'],
    ['an empty id', { id: '' }, 'rules[0].id: must be 1..64 characters of A-Z a-z 0-9 . _ -'],
    ['an id with a slash', { id: 'a/b' }, 'rules[0].id: must be 1..64 characters of A-Z a-z 0-9 . _ -'],
    [
      'a long description',
      { description: 'd'.repeat(257) },
      'rules[0].description: must be a string of at most 256 characters',
    ],
    ['match null', { match: null }, 'rules[0].match: must be an object (use {} to match every user)'],
    [
      'an empty prefix',
      { match: { userIdPrefix: '' } },
      'rules[0].match.userIdPrefix: must be a string of 1..64 characters',
    ],
    [
      'a prefix of 65 characters',
      { match: { userIdPrefix: 'p'.repeat(65) } },
      'rules[0].match.userIdPrefix: must be a string of 1..64 characters',
    ],
    [
      'an unclosed group',
      { match: { userIdPattern: '(emp' } },
      'rules[0].match.userIdPattern: invalid regular expression: missing closing ): `(emp`',
    ],
    [
      'a lookahead (not RE2)',
      { match: { userIdPattern: '(?=emp)' } },
      'rules[0].match.userIdPattern: invalid regular expression: invalid or unsupported Perl syntax: `(?=`',
    ],
    [
      'a pattern of 257 characters',
      { match: { userIdPattern: 'a'.repeat(257) } },
      'rules[0].match.userIdPattern: must be a string of 1..256 characters',
    ],
    [
      'an empty pattern',
      { match: { userIdPattern: '' } },
      'rules[0].match.userIdPattern: must be a string of 1..256 characters',
    ],
    ['empty metadata', { match: { metadata: {} } }, 'rules[0].match.metadata: must have 1..20 keys (got 0)'],
    [
      'metadata with 21 keys',
      { match: { metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) } },
      'rules[0].match.metadata: must have 1..20 keys (got 21)',
    ],
    [
      'metadata with an empty list',
      { match: { metadata: { plan: [] } } },
      'rules[0].match.metadata.plan: must be a string or a non-empty array of at most 50 strings',
    ],
    [
      'metadata with 51 values',
      { match: { metadata: { plan: Array.from({ length: 51 }, (_, i) => `p${i}`) } } },
      'rules[0].match.metadata.plan: must be a string or a non-empty array of at most 50 strings',
    ],
    [
      'metadata with a number value',
      { match: { metadata: { 'plan.tier': 3 } } },
      'rules[0].match.metadata["plan.tier"]: must be a string or a non-empty array of at most 50 strings',
    ],
    [
      'metadata with a number in a list',
      { match: { metadata: { plan: ['a', 3] } } },
      'rules[0].match.metadata.plan[1]: must be a string',
    ],
    [
      'a metadata key of 129 characters',
      { match: { metadata: { ['k'.repeat(129)]: 'v' } } },
      `rules[0].match.metadata.${'k'.repeat(129)}: key must be 1..128 characters`,
    ],
  ])('reports %s with its path', (_name, overrides, expected) => {
    expect(problemLines(withRule(rule(overrides)))).toEqual([expected]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['minRemainingDays 366', { minRemainingDays: 366 }, 'safety.minRemainingDays: must be an integer 0..365'],
    [
      'maxShorteningChanges -1',
      { maxShorteningChanges: -1 },
      'safety.maxShorteningChanges: must be an integer >= 0',
    ],
    [
      'maxShorteningPercent 100.5',
      { maxShorteningPercent: 100.5 },
      'safety.maxShorteningPercent: must be a number 0..100',
    ],
  ])('reports safety %s', (_name, safety, expected) => {
    expect(problemLines({ tenantId: 'acme', appInstanceArn: APP_INSTANCE_ARN, rules: [], safety })).toEqual([
      expected,
    ]);
  });

  it('reports more than 100 rules with the count', () => {
    const rules = Array.from({ length: MAX_RULES + 1 }, (_, i) => rule({ id: `r${i}`, priority: i }));
    expect(problemLines({ tenantId: 'acme', appInstanceArn: APP_INSTANCE_ARN, rules })).toEqual([
      'rules: must have at most 100 rules (got 101)',
    ]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'the root',
      { ...EXAMPLE_DOCUMENT, rule: [] },
      'rule: unknown key (allowed: tenantId, appInstanceArn, enabled, rules, default, notify, safety, protectAdmins, exemptions, access)',
    ],
    [
      'a rule',
      { ...EXAMPLE_DOCUMENT, rules: [rule({ expirtion: 'never' })] },
      'rules[0].expirtion: unknown key (allowed: id, priority, description, match, expiration)',
    ],
    [
      'a match',
      { ...EXAMPLE_DOCUMENT, rules: [rule({ match: { userIdPrefx: 'guest-' } })] },
      'rules[0].match.userIdPrefx: unknown key (allowed: userIdPrefix, userIdPattern, metadata)',
    ],
    [
      'an expiration',
      { ...EXAMPLE_DOCUMENT, rules: [rule({ expiration: { days: 7, day: 8 } })] },
      'rules[0].expiration.day: unknown key (allowed: days, criterion)',
    ],
    [
      'the default',
      { ...EXAMPLE_DOCUMENT, default: { expiration: 'never', days: 3 } },
      'default.days: unknown key (allowed: expiration)',
    ],
    [
      'safety',
      { ...EXAMPLE_DOCUMENT, safety: { maxShorteningPercentage: 5 } },
      'safety.maxShorteningPercentage: unknown key (allowed: minRemainingDays, maxShorteningChanges, maxShorteningPercent)',
    ],
  ])('rejects an unknown key in %s', (_name, input, expected) => {
    expect(problemLines(input)).toEqual([expected]);
  });

  it('reports duplicate rule ids and priorities naming both indexes', () => {
    const rules = [
      rule({ id: 'a', priority: 10 }),
      rule({ id: 'b', priority: 20 }),
      rule({ id: 'a', priority: 20 }),
    ];
    expect(problemLines({ tenantId: 'acme', appInstanceArn: APP_INSTANCE_ARN, rules })).toEqual([
      'rules[2].id: duplicate rule id "a" (also used by rules[0])',
      'rules[2].priority: duplicate priority 20 (also used by rules[1]); priorities must be unique so the winning rule is unambiguous',
    ]);
  });

  it('lists every problem of a document in one pass, cross-rule checks included', () => {
    const input = {
      tenantId: '',
      appInstanceArn: 'arn:aws:chime:us-east-1:111122223333:app-instance/abc/user/u1',
      enabled: 1,
      rules: [
        rule({ id: 'dup', priority: 5, match: { userIdPattern: '(' }, expiration: { days: 0 } }),
        rule({ id: 'dup', priority: 5, match: { metadata: {} }, expiration: 'sometimes', note: 'x' }),
        'not a rule',
      ],
      default: { expiration: { days: 9999 } },
      safety: { minRemainingDays: -1 },
      extra: true,
    };
    expect(problemLines(input).sort()).toEqual(
      [
        'tenantId: must be 1..64 characters of A-Z a-z 0-9 . _ -',
        'appInstanceArn: must be an app-instance ARN, not an app-instance user ARN (drop the "/user/..." suffix)',
        'enabled: must be true or false',
        'rules[0].match.userIdPattern: invalid regular expression: missing closing ): `(`',
        'rules[0].expiration.days: must be an integer 1..5475',
        'rules[1].match.metadata: must have 1..20 keys (got 0)',
        'rules[1].expiration: must be {"days": 1..5475}, {"inactiveDays": 1..5475}, "never" or "unmanaged"',
        'rules[1].note: unknown key (allowed: id, priority, description, match, expiration)',
        'rules[1].id: duplicate rule id "dup" (also used by rules[0])',
        'rules[1].priority: duplicate priority 5 (also used by rules[0]); priorities must be unique so the winning rule is unambiguous',
        'rules[2]: must be an object',
        'default.expiration.days: must be an integer 1..5475',
        'safety.minRemainingDays: must be an integer 0..365',
        'extra: unknown key (allowed: tenantId, appInstanceArn, enabled, rules, default, notify, safety, protectAdmins, exemptions, access)',
      ].sort(),
    );
  });

  it('returns structured problems whose path and message formatProblems joins', () => {
    const result = parsePolicy(withRule(rule({ priority: -5 })));
    expect(result).toEqual({
      ok: false,
      problems: [{ path: 'rules[0].priority', message: 'must be an integer 0..1000000' }],
    });
    expect(formatProblems([{ path: '(root)', message: 'must be a JSON object' }])).toEqual([
      '(root): must be a JSON object',
    ]);
  });
});

describe('appInstanceArn', () => {
  it.each<[string, string]>([
    ['a user ARN', `${APP_INSTANCE_ARN}/user/u1`],
    ['another service', 'arn:aws:iam::111122223333:role/app-instance'],
    ['an 11-digit account', 'arn:aws:chime:us-east-1:11112222333:app-instance/abc'],
    ['a missing region', 'arn:aws:chime::111122223333:app-instance/abc'],
    ['a channel ARN', 'arn:aws:chime:us-east-1:111122223333:app-instance/abc/channel/c1'],
    ['an empty id', 'arn:aws:chime:us-east-1:111122223333:app-instance/'],
    ['a trailing newline', `${APP_INSTANCE_ARN}\n`],
    ['a non-aws partition', 'arn:gcp:chime:us-east-1:111122223333:app-instance/abc'],
  ])('rejects %s', (_name, arn) => {
    expect(parseAppInstanceArn(arn)).toBeNull();
    const lines = problemLines({ tenantId: 'acme', appInstanceArn: arn, rules: [] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^appInstanceArn: must be a/);
  });

  it.each<[string, string]>([
    ['not an ARN at all', 'app-instance/abc'],
    ['too long for ChimeArn', `arn:aws:chime:us-east-1:111122223333:app-instance/${'a'.repeat(1600)}`],
    ['a resource starting with a slash', 'arn:aws:chime:us-east-1:111122223333:/app-instance/abc'],
  ])('rejects %s as not a Chime ARN', (_name, arn) => {
    expect(problemLines({ tenantId: 'acme', appInstanceArn: arn, rules: [] })).toEqual([
      'appInstanceArn: must be a Chime ARN (5..1600 characters, arn:<partition>:<service>:<region>:<account>:<resource>)',
    ]);
  });

  it('explains that a user ARN is not accepted', () => {
    expect(
      problemLines({ tenantId: 'acme', appInstanceArn: `${APP_INSTANCE_ARN}/user/u1`, rules: [] }),
    ).toEqual([
      'appInstanceArn: must be an app-instance ARN, not an app-instance user ARN (drop the "/user/..." suffix)',
    ]);
  });

  it.each<[string, { partition: string; region: string; accountId: string; appInstanceId: string }]>([
    [
      APP_INSTANCE_ARN,
      {
        partition: 'aws',
        region: 'us-east-1',
        accountId: '111122223333',
        appInstanceId: '8f1c4c6e-0a1b-4f7e-9d55-2a9b1c3d4e5f',
      },
    ],
    [
      'arn:aws-us-gov:chime:us-gov-west-1:123456789012:app-instance/x1',
      { partition: 'aws-us-gov', region: 'us-gov-west-1', accountId: '123456789012', appInstanceId: 'x1' },
    ],
    [
      'arn:aws-cn:chime:cn-north-1:123456789012:app-instance/x2',
      { partition: 'aws-cn', region: 'cn-north-1', accountId: '123456789012', appInstanceId: 'x2' },
    ],
    [
      'arn:aws:chime:us-east-1:111122223333:app-instance/8f1c...',
      { partition: 'aws', region: 'us-east-1', accountId: '111122223333', appInstanceId: '8f1c...' },
    ],
  ])('parses %s', (arn, parts) => {
    expect(parseAppInstanceArn(arn)).toEqual(parts);
  });
});

describe('PolicyInput type', () => {
  it('lets authors omit defaulted members', () => {
    const minimal: PolicyInput = { tenantId: 'a', appInstanceArn: APP_INSTANCE_ARN, rules: [] };
    expect(parsePolicy(minimal).ok).toBe(true);
  });
});
