import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  decide,
  exemptionStatuses,
  exemptionsEndingSoon,
  exemptionTimeProblems,
  exemptionWarnings,
  parsePolicy,
  resolveExpiration,
  type TraceStep,
} from '../../../shared/policy';
import { APP_INSTANCE_ARN, policyOf } from './fixtures';

const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const IN_30_DAYS = iso(NOW + 30 * DAY_MS);

const RULES = [
  { id: 'guests', priority: 10, match: { userIdPrefix: 'guest-' }, expiration: { days: 7 } },
  { id: 'everyone', priority: 99, match: {}, expiration: { days: 30 } },
] as const;

function withExemptions(exemptions: unknown[], extra: Record<string, unknown> = {}) {
  return policyOf({ rules: [...RULES], exemptions, ...extra } as never);
}

const exemption = (overrides: Record<string, unknown>) => ({
  id: 'pilot',
  match: { userIds: ['guest-vip'] },
  expiration: 'never',
  until: IN_30_DAYS,
  reason: 'pilot customer, signed until end of quarter',
  owner: 'sales-ops',
  ...overrides,
});

describe('exemption precedence and expiry', () => {
  // [case, exemption overrides, user, now, expected source, expected ruleId, expected expiration]
  it.each<[string, Record<string, unknown>, string, number, string, string | null, unknown]>([
    ['active, by id, wins over the first rule', {}, 'guest-vip', NOW, 'exemption', 'pilot', 'never'],
    ['active, other user: the rules apply', {}, 'guest-other', NOW, 'rule', 'guests', { days: 7 }],
    [
      'one ms before until: still active',
      {},
      'guest-vip',
      NOW + 30 * DAY_MS - 1,
      'exemption',
      'pilot',
      'never',
    ],
    [
      'at until: ended, the rules apply again',
      {},
      'guest-vip',
      NOW + 30 * DAY_MS,
      'rule',
      'guests',
      { days: 7 },
    ],
    ['after until: the rules apply again', {}, 'guest-vip', NOW + 40 * DAY_MS, 'rule', 'guests', { days: 7 }],
    [
      'by prefix, days',
      { match: { userIdPrefix: 'guest-v' }, expiration: { days: 400 } },
      'guest-vip',
      NOW,
      'exemption',
      'pilot',
      { days: 400 },
    ],
    [
      'by metadata, unmanaged',
      { match: { metadata: { tier: 'gold' } }, expiration: 'unmanaged' },
      'guest-gold',
      NOW,
      'exemption',
      'pilot',
      'unmanaged',
    ],
    [
      'two selectors must both match',
      { match: { userIdPrefix: 'x-', userIds: ['guest-vip'] } },
      'guest-vip',
      NOW,
      'rule',
      'guests',
      { days: 7 },
    ],
  ])('%s', (_name, overrides, userId, now, source, ruleId, expiration) => {
    const policy = withExemptions([exemption(overrides)]);
    const metadata = userId === 'guest-gold' ? JSON.stringify({ tier: 'gold' }) : undefined;
    const resolved = resolveExpiration(policy, { appInstanceUserId: userId, metadata }, { now });
    expect(resolved).toEqual({ source, ruleId, expiration });
  });

  it('the first active exemption in document order wins; an ended one is skipped', () => {
    const policy = withExemptions([
      exemption({ id: 'ended', until: iso(NOW + DAY_MS), expiration: { days: 9 } }),
      exemption({ id: 'first', expiration: { days: 100 } }),
      exemption({ id: 'second', expiration: 'never' }),
    ]);
    const at = NOW + 2 * DAY_MS;
    expect(resolveExpiration(policy, { appInstanceUserId: 'guest-vip' }, { now: at }).ruleId).toBe('first');
  });

  it('decide: an exemption sets its own days; after it ends the floor applies to the shortening', () => {
    const policy = withExemptions([exemption({ expiration: { days: 400 } })]);
    const createdAt = NOW - 20 * DAY_MS;
    const during = decide(policy, { appInstanceUserId: 'guest-vip' }, { createdAt }, NOW);
    expect(during).toMatchObject({
      source: 'exemption',
      ruleId: 'pilot',
      desired: { kind: 'set', days: 400 },
    });
    // After: guests get 7 days, but the user is 50 days old: the floor keeps one day from now.
    const after = NOW + 30 * DAY_MS;
    const fallback = decide(
      policy,
      { appInstanceUserId: 'guest-vip' },
      { createdAt, expirationDays: 400 },
      after,
    );
    expect(fallback).toMatchObject({ source: 'rule', ruleId: 'guests', floored: true, shortens: true });
    expect(fallback.desiredExpiresAt).toBe(createdAt + 51 * DAY_MS);
  });

  it('an admin is untouchable whatever the rules or exemptions say, unless protectAdmins is false', () => {
    const protecting = withExemptions([exemption({})]);
    const admins = new Set(['guest-vip', 'admin']);
    const decision = decide(protecting, { appInstanceUserId: 'admin' }, { createdAt: NOW - DAY_MS }, NOW, {
      admins,
    });
    expect(decision).toMatchObject({ source: 'admin', intent: 'unmanaged', changes: false });
    expect(decision.reason).toContain('AppInstanceAdmin');
    expect(
      resolveExpiration(protecting, { appInstanceUserId: 'guest-vip' }, { now: NOW, admins }).source,
    ).toBe('admin');
    const notProtecting = withExemptions([], { protectAdmins: false });
    expect(
      decide(notProtecting, { appInstanceUserId: 'admin' }, { createdAt: NOW - DAY_MS }, NOW, { admins }),
    ).toMatchObject({ source: 'rule', ruleId: 'everyone', changes: true });
  });

  it('a trace lists the exemptions and rules tried, in order, with why each did not match', () => {
    const policy = withExemptions([
      exemption({ id: 'ended', until: iso(NOW - DAY_MS) }),
      exemption({ id: 'gold', match: { metadata: { tier: ['gold', 'platinum'] } } }),
    ]);
    const trace: TraceStep[] = [];
    const resolved = resolveExpiration(
      policy,
      { appInstanceUserId: 'user-1', metadata: JSON.stringify({ tier: 'silver' }) },
      { now: NOW, trace },
    );
    expect(resolved.ruleId).toBe('everyone');
    expect(trace).toEqual([
      { kind: 'exemption', id: 'ended', active: false, matched: false, miss: null },
      {
        kind: 'exemption',
        id: 'gold',
        active: true,
        matched: false,
        miss: {
          selector: 'metadata',
          key: 'tier',
          accepted: ['gold', 'platinum'],
          problem: 'value-not-accepted',
        },
      },
      {
        kind: 'rule',
        id: 'guests',
        priority: 10,
        matched: false,
        miss: { selector: 'userIdPrefix', expected: 'guest-' },
      },
      { kind: 'rule', id: 'everyone', priority: 99, matched: true, miss: null },
    ]);
  });
});

describe('exemption validation', () => {
  it.each<[string, Record<string, unknown>, string]>([
    [
      'until without a zone',
      { until: '2026-02-01T00:00:00' },
      'exemptions[0].until: must be an ISO 8601 instant',
    ],
    ['until not a date', { until: 'next friday' }, 'exemptions[0].until: must be an ISO 8601 instant'],
    ['reason too long', { reason: 'x'.repeat(257) }, 'exemptions[0].reason: must be a string of 1..256'],
    ['owner missing', { owner: undefined }, 'exemptions[0].owner: is required'],
    ['owner too long', { owner: 'o'.repeat(129) }, 'exemptions[0].owner: must be a string of 1..128'],
    [
      '1,001 user ids',
      { match: { userIds: Array.from({ length: 1001 }, (_, i) => `u-${i}`) } },
      'exemptions[0].match.userIds: must have at most 1000 user ids (got 1001)',
    ],
    ['no selector', { match: {} }, 'exemptions[0].match: must name its users'],
    ['unknown selector', { match: { userIdSuffix: 'x' } }, 'exemptions[0].match.userIdSuffix: unknown key'],
  ])('%s is refused', (_name, overrides, expected) => {
    const result = parsePolicy({
      tenantId: 'acme',
      appInstanceArn: APP_INSTANCE_ARN,
      rules: [...RULES],
      exemptions: [exemption(overrides)],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => `${p.path}: ${p.message}`).join('\n')).toContain(expected);
  });

  it('duplicate exemption ids are refused', () => {
    const result = parsePolicy({
      tenantId: 'acme',
      appInstanceArn: APP_INSTANCE_ARN,
      rules: [],
      exemptions: [exemption({}), exemption({})],
    });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]?.path).toBe('exemptions[1].id');
  });

  it.each<[string, number, string | null]>([
    ['ended yesterday', NOW - DAY_MS, 'exemption "pilot" ended at'],
    ['ends now', NOW, 'exemption "pilot" ended at'],
    ['ends in a minute', NOW + 60_000, null],
    ['ends in 4.9 years', NOW + 4.9 * 365 * DAY_MS, null],
    ['ends in 5.1 years', NOW + 5.1 * 365 * DAY_MS, 'exemption "pilot" ends more than 5 years ahead'],
  ])('at put time, until %s', (_name, until, expected) => {
    const problems = exemptionTimeProblems(withExemptions([exemption({ until: iso(until) })]), NOW);
    if (expected === null) expect(problems).toEqual([]);
    else {
      expect(problems).toHaveLength(1);
      expect(problems[0]?.path).toBe('exemptions[0].until');
      expect(problems[0]?.message).toContain(expected);
    }
  });

  it.each<[string, Record<string, unknown>, boolean]>([
    ['ids no rule selects (with a prefix-only policy)', { match: { userIds: ['svc-1'] } }, true],
    ['a prefix disjoint from every rule prefix', { match: { userIdPrefix: 'svc-' } }, true],
    ['ids some rule selects', { match: { userIds: ['guest-1'] } }, false],
    ['a prefix inside a rule prefix', { match: { userIdPrefix: 'guest-vip' } }, false],
  ])('warns for an exemption matching no rule users: %s → %s', (_name, overrides, warns) => {
    const policy = policyOf({
      rules: [RULES[0]],
      exemptions: [exemption(overrides)],
    } as never);
    const warnings = exemptionWarnings(policy);
    expect(warnings.length > 0).toBe(warns);
    if (warns) expect(warnings[0]?.message).toContain('exemption "pilot" matches none of the users');
  });

  it('lists exemptions with days left, soonest first, and picks those ending within 7 days', () => {
    const policy = withExemptions([
      exemption({ id: 'later', until: IN_30_DAYS }),
      exemption({ id: 'soon', until: iso(NOW + 6.5 * DAY_MS) }),
      exemption({ id: 'over', until: iso(NOW - 1) }),
    ]);
    expect(exemptionStatuses(policy, NOW).map((s) => [s.id, s.daysLeft, s.active])).toEqual([
      ['over', 0, false],
      ['soon', 7, true],
      ['later', 30, true],
    ]);
    expect(exemptionsEndingSoon(policy, NOW).map((e) => e.id)).toEqual(['soon']);
  });
});
