import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  type Decision,
  decide,
  expiresAt,
  MAX_EXPIRATION_DAYS,
  type Policy,
  type PolicyInput,
  type PolicyUser,
  parsePolicy,
} from '../../../shared/policy';
import { APP_INSTANCE_ARN } from './fixtures';

const RUNS = { numRuns: 2000 };
const FIFTEEN_YEARS_MS = Math.round(15 * 365.25 * DAY_MS);

// Small vocabularies so that rules overlap and users often match several rules at once.
const PREFIXES = ['a', 'ab', 'b', 'guest-'];
// All of these mean the same in RE2 and JS RegExp, so the reference matcher below can use RegExp.
const PATTERNS = ['^a', 'b$', '[0-9]', 'ab', '^(a|b)+$', 'st-'];
const ID_CHARS = ['a', 'b', '0', '7', 'g', 'u', 'e', 's', 't', '-'];

type RuleInput = PolicyInput['rules'][number];
type ExpirationInput = RuleInput['expiration'];

const expirationArb: fc.Arbitrary<ExpirationInput> = fc.oneof(
  fc.record({ days: fc.integer({ min: 1, max: MAX_EXPIRATION_DAYS }) }),
  fc.record({ days: fc.integer({ min: 1, max: 60 }) }),
  fc.constant('never' as const),
  fc.constant('unmanaged' as const),
);

const matchArb = fc.record(
  {
    userIdPrefix: fc.constantFrom(...PREFIXES),
    userIdPattern: fc.constantFrom(...PATTERNS),
    metadata: fc.oneof(
      fc.record({ plan: fc.constantFrom<string | string[]>('x', ['x', 'y'], ['y']) }),
      fc.record({ tier: fc.constant('gold'), plan: fc.constant('x') }),
    ),
  },
  { requiredKeys: [] },
);

const policyArb: fc.Arbitrary<Policy> = fc
  .record({
    priorities: fc.uniqueArray(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 8 }),
    matches: fc.array(matchArb, { minLength: 8, maxLength: 8 }),
    expirations: fc.array(expirationArb, { minLength: 8, maxLength: 8 }),
    defaultExpiration: fc.option(expirationArb, { nil: undefined }),
    minRemainingDays: fc.integer({ min: 0, max: 365 }),
  })
  .map(({ priorities, matches, expirations, defaultExpiration, minRemainingDays }) => {
    const rules = priorities.map(
      (priority, index): RuleInput => ({
        id: `r${index}`,
        priority,
        match: matches[index] ?? {},
        expiration: expirations[index] ?? 'never',
      }),
    );
    const result = parsePolicy({
      tenantId: 't',
      appInstanceArn: APP_INSTANCE_ARN,
      rules,
      ...(defaultExpiration === undefined ? {} : { default: { expiration: defaultExpiration } }),
      safety: { minRemainingDays },
    });
    if (!result.ok)
      throw new Error(`generator produced an invalid policy: ${JSON.stringify(result.problems)}`);
    return result.policy;
  });

const userArb: fc.Arbitrary<PolicyUser> = fc.record({
  appInstanceUserId: fc.oneof(
    fc.array(fc.constantFrom(...ID_CHARS), { minLength: 1, maxLength: 10 }).map((chars) => chars.join('')),
    fc.constantFrom('guest-1', 'ab', 'abab', 'b', 'a0'),
  ),
  metadata: fc.option(
    fc.oneof(
      fc.constantFrom(
        '{"plan":"x"}',
        '{"plan":"y","tier":"gold"}',
        '{"plan":"x","tier":"gold"}',
        '{"plan":1}',
      ),
      fc.constantFrom('not json', '[]', '"x"', 'null', ''),
      fc.record({ plan: fc.constantFrom('x', 'y', 'z') }).map((value) => JSON.stringify(value)),
    ),
    { nil: undefined },
  ),
});

/** now within 2020..2035; createdAt up to ~15 years before now; current days 1..5475 or none. */
const stateArb = fc
  .record({
    now: fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2035, 0, 1) }),
    age: fc.oneof(
      fc.integer({ min: 0, max: FIFTEEN_YEARS_MS }),
      fc.integer({ min: 0, max: 60 }).map((days) => days * DAY_MS),
    ),
    expirationDays: fc.option(
      fc.oneof(fc.integer({ min: 1, max: MAX_EXPIRATION_DAYS }), fc.integer({ min: 1, max: 60 })),
      { nil: undefined },
    ),
  })
  .map(({ now, age, expirationDays }) => ({ now, current: { createdAt: now - age, expirationDays } }));

/** An independent reading of the conflict rule: the lowest priority whose selectors all match. */
function referenceRuleId(policy: Policy, user: PolicyUser): string | null {
  let metadata: unknown = null;
  try {
    metadata = user.metadata === undefined ? null : JSON.parse(user.metadata);
  } catch {
    metadata = null;
  }
  const matching = policy.rules.filter(({ match }) => {
    if (match.userIdPrefix !== undefined && !user.appInstanceUserId.startsWith(match.userIdPrefix))
      return false;
    if (match.userIdPattern !== undefined && !new RegExp(match.userIdPattern).test(user.appInstanceUserId))
      return false;
    if (match.metadata !== undefined) {
      if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return false;
      const record = metadata as Record<string, unknown>;
      for (const [key, accepted] of Object.entries(match.metadata)) {
        const value = record[key];
        if (typeof value !== 'string') return false;
        if (typeof accepted === 'string' ? value !== accepted : !accepted.includes(value)) return false;
      }
    }
    return true;
  });
  matching.sort((a, b) => a.priority - b.priority);
  return matching[0]?.id ?? null;
}

function instant(expiresAtOrNull: number | null): number {
  return expiresAtOrNull ?? Number.POSITIVE_INFINITY;
}

/** The user's expiration days after the decision is applied. */
function applied(decision: Decision, currentDays: number | undefined): number | undefined {
  if (decision.desired.kind === 'set') return decision.desired.days;
  if (decision.desired.kind === 'remove') return undefined;
  return currentDays;
}

// 2000 runs per property take about a second each; the margin is for a loaded CI machine.
describe('decide: properties', { timeout: 30_000 }, () => {
  it('gives every user exactly one decision, from the lowest-priority matching rule, else the default', () => {
    fc.assert(
      fc.property(policyArb, userArb, stateArb, (policy, user, { now, current }) => {
        const decision = decide(policy, user, current, now);
        const expectedRule = referenceRuleId(policy, user);
        expect(decision.ruleId).toBe(expectedRule);
        const expectedSource = expectedRule !== null ? 'rule' : policy.default ? 'default' : 'none';
        expect(decision.source).toBe(expectedSource);
        const expiration =
          expectedRule !== null
            ? policy.rules.find((rule) => rule.id === expectedRule)?.expiration
            : (policy.default?.expiration ?? 'unmanaged');
        expect(decision.intent).toBe(typeof expiration === 'object' ? 'days' : expiration);
      }),
      RUNS,
    );
  });

  it('does not depend on the order of rules in the document', () => {
    fc.assert(
      fc.property(
        policyArb.chain((policy) =>
          fc
            .shuffledSubarray(policy.rules, { minLength: policy.rules.length })
            .map((rules): [Policy, Policy] => [policy, { ...policy, rules }]),
        ),
        userArb,
        stateArb,
        ([policy, shuffled], user, { now, current }) => {
          expect(decide(shuffled, user, current, now)).toEqual(decide(policy, user, current, now));
        },
      ),
      RUNS,
    );
  });

  it('keeps desired days within 1..5475 and consistent with the instants', () => {
    fc.assert(
      fc.property(policyArb, userArb, stateArb, (policy, user, { now, current }) => {
        const decision = decide(policy, user, current, now);
        expect(decision.changes).toBe(decision.desired.kind !== 'leave');
        if (decision.desired.kind === 'set') {
          expect(Number.isInteger(decision.desired.days)).toBe(true);
          expect(decision.desired.days).toBeGreaterThanOrEqual(1);
          expect(decision.desired.days).toBeLessThanOrEqual(MAX_EXPIRATION_DAYS);
          expect(decision.desiredExpiresAt).toBe(expiresAt(current.createdAt, decision.desired.days));
        }
        if (decision.desired.kind === 'remove') expect(decision.desiredExpiresAt).toBeNull();
        if (decision.desired.kind === 'leave')
          expect(decision.desiredExpiresAt).toBe(decision.currentExpiresAt);
      }),
      RUNS,
    );
  });

  it('never sets an expiry inside the floor window, except a capped lengthening, and never moves one later to keep the floor', () => {
    fc.assert(
      fc.property(policyArb, userArb, stateArb, (policy, user, { now, current }) => {
        const decision = decide(policy, user, current, now);
        const floorInstant = now + policy.safety.minRemainingDays * DAY_MS;
        const cur = instant(decision.currentExpiresAt);
        const desired = instant(decision.desiredExpiresAt);
        if (decision.desired.kind === 'set' && desired < floorInstant) {
          // The only way into the window: even 5475 days cannot reach the floor, and it is still a lengthening.
          expect(decision.clamped).toBe(true);
          expect(decision.desired.days).toBe(MAX_EXPIRATION_DAYS);
          expect(desired).toBeGreaterThan(cur);
        }
        if (decision.shortens) expect(desired).toBeGreaterThanOrEqual(floorInstant);
        if (decision.intendedDays !== null && expiresAt(current.createdAt, decision.intendedDays) < cur) {
          // The policy shortens: the floor may soften that, never turn it into a lengthening.
          expect(desired).toBeLessThanOrEqual(cur);
        }
      }),
      RUNS,
    );
  });

  it('says it shortens exactly when the desired expiry is earlier than the current one', () => {
    fc.assert(
      fc.property(policyArb, userArb, stateArb, (policy, user, { now, current }) => {
        const decision = decide(policy, user, current, now);
        expect(decision.shortens).toBe(
          instant(decision.desiredExpiresAt) < instant(decision.currentExpiresAt),
        );
        expect(decision.currentExpiresAt).toBe(
          current.expirationDays === undefined ? null : expiresAt(current.createdAt, current.expirationDays),
        );
        if (decision.rescue) {
          expect(decision.changes).toBe(true);
          expect(instant(decision.currentExpiresAt)).toBeLessThan(now);
        }
      }),
      RUNS,
    );
  });

  it('converges: deciding again on the applied result changes nothing', () => {
    fc.assert(
      fc.property(policyArb, userArb, stateArb, (policy, user, { now, current }) => {
        const first = decide(policy, user, current, now);
        const after = {
          createdAt: current.createdAt,
          expirationDays: applied(first, current.expirationDays),
        };
        const second = decide(policy, user, after, now);
        expect(second.changes).toBe(false);
        expect(second.desiredExpiresAt).toBe(first.desiredExpiresAt);
      }),
      RUNS,
    );
  });
});
