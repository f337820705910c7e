import { describe, expect, it } from 'vitest';
import {
  decide,
  parsePolicy,
  renewalDays,
  renewalDue,
  renewalWritesPerMonthBound,
} from '../../../shared/policy';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const ARN = 'arn:aws:chime:us-east-1:123456789012:app-instance/app';

describe('renewalDays', () => {
  it('puts the expiry at the last activity plus N, rounded up to a whole day from creation', () => {
    expect(renewalDays(T0, undefined, 30)).toBe(30);
    expect(renewalDays(T0, T0 + 10 * DAY, 30)).toBe(40);
    expect(renewalDays(T0, T0 + 10 * DAY + 1, 30)).toBe(41);
  });

  it('counts from creation when the activity is older than the user', () => {
    expect(renewalDays(T0, T0 - 5 * DAY, 30)).toBe(30);
  });

  it('stays within Chime 5475 days from creation', () => {
    expect(renewalDays(T0, T0 + 5470 * DAY, 30)).toBe(5475);
  });
});

describe('renewalDue (hysteresis)', () => {
  const N = 30;
  it('writes when there is no expiry, or one later than the policy allows', () => {
    expect(renewalDue(null, T0 + N * DAY, T0, N)).toBe(true);
    expect(renewalDue(T0 + 90 * DAY, T0 + N * DAY, T0, N)).toBe(true);
  });

  it('waits while the expiry is at least N/2 days away, writes once it is closer', () => {
    const current = T0 + N * DAY;
    expect(renewalDue(current, current + 10 * DAY, T0 + 15 * DAY, N)).toBe(false);
    expect(renewalDue(current, current + 10 * DAY, T0 + 15 * DAY + 1, N)).toBe(true);
  });

  it('costs a user active every day one write per N/2 days: at most 60/N a month', () => {
    for (const n of [2, 7, 30, 90]) {
      let expiry = T0 + n * DAY;
      let writes = 0;
      for (let day = 1; day <= 360; day++) {
        const now = T0 + day * DAY;
        const target = now + n * DAY;
        if (renewalDue(expiry, target, now, n)) {
          expiry = target;
          writes++;
        }
        expect(expiry - now).toBeGreaterThanOrEqual((n * DAY) / 2 - DAY);
      }
      expect(writes / 12).toBeLessThanOrEqual(renewalWritesPerMonthBound(n));
    }
  });
});

describe('decide with inactiveDays', () => {
  const parsed = parsePolicy({
    tenantId: 't',
    appInstanceArn: ARN,
    rules: [{ id: 'active', priority: 1, match: {}, expiration: { inactiveDays: 30 } }],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const policy = parsed.policy;
  const user = { appInstanceUserId: 'u1' };

  it('sets the expiry from the last activity for a user without one', () => {
    const decision = decide(policy, user, { createdAt: T0, lastActiveAt: T0 + 5 * DAY }, T0 + 6 * DAY);
    expect(decision.desired).toEqual({ kind: 'set', days: 35 });
  });

  it('leaves a user whose expiry is far enough away, however active', () => {
    const decision = decide(
      policy,
      user,
      { createdAt: T0, expirationDays: 30, lastActiveAt: T0 + 10 * DAY },
      T0 + 10 * DAY,
    );
    expect(decision.changes).toBe(false);
    expect(decision.reason).toMatch(/renewal not due/);
  });

  it('renews once the expiry is less than N/2 days away', () => {
    const decision = decide(
      policy,
      user,
      { createdAt: T0, expirationDays: 30, lastActiveAt: T0 + 16 * DAY },
      T0 + 16 * DAY,
    );
    expect(decision.desired).toEqual({ kind: 'set', days: 46 });
  });

  it('writes nothing for an inactive user whose expiry is already at its last activity plus N', () => {
    const decision = decide(policy, user, { createdAt: T0, expirationDays: 30 }, T0 + 20 * DAY);
    expect(decision.changes).toBe(false);
  });
});

describe('policy schema', () => {
  const base = { tenantId: 't', appInstanceArn: ARN, rules: [] };
  it('accepts notify horizons and inactiveDays', () => {
    const parsed = parsePolicy({
      ...base,
      notify: { horizons: [30, 7, 1] },
      default: { expiration: { inactiveDays: 90 } },
    });
    expect(parsed.ok).toBe(true);
  });

  it.each([
    [{ notify: { horizons: [] } }, 'notify.horizons'],
    [{ notify: { horizons: [1, 2, 3, 4, 5, 6] } }, 'notify.horizons'],
    [{ notify: { horizons: [0] } }, 'notify.horizons[0]'],
    [{ notify: { horizons: [366] } }, 'notify.horizons[0]'],
    [{ notify: { horizons: [7, 7] } }, 'notify.horizons'],
    [{ notify: { days: [7] } }, 'notify.days'],
    [{ default: { expiration: { inactiveDays: 0 } } }, 'default.expiration.inactiveDays'],
    [{ default: { expiration: { inactiveDays: 5476 } } }, 'default.expiration.inactiveDays'],
    [{ default: { expiration: { days: 0 } } }, 'default.expiration.days'],
  ])('rejects %j at %s', (extra, path) => {
    const parsed = parsePolicy({ ...base, ...extra });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problems.map((problem) => problem.path)).toContain(path);
  });

  it('raises the floor of every write to the smallest horizon', () => {
    const parsed = parsePolicy({
      ...base,
      notify: { horizons: [30, 7] },
      default: { expiration: { days: 1 } },
    });
    if (!parsed.ok) throw new Error('invalid');
    const now = T0 + 100 * DAY;
    const decision = decide(parsed.policy, user(), { createdAt: T0 }, now);
    expect(decision.desiredExpiresAt).not.toBeNull();
    expect((decision.desiredExpiresAt ?? 0) - now).toBeGreaterThanOrEqual(7 * DAY);
    function user() {
      return { appInstanceUserId: 'u' };
    }
  });
});
