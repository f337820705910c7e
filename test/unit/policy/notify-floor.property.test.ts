import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY_MS, decide, MAX_EXPIRATION_DAYS, parsePolicy } from '../../../shared/policy';
import { APP_INSTANCE_ARN } from './fixtures';

const T0 = Date.UTC(2026, 0, 1);

/**
 * Issue 12's guarantee: with `notify`, no write puts an expiry sooner than the smallest horizon from now, so a
 * user is always warned at that horizon before it expires. Checked over random expirations (days and
 * inactiveDays), horizons, minRemainingDays, ages, current expirations and activity.
 */
describe('the notify floor', () => {
  it('never writes an expiry sooner than the smallest horizon from now (except capped at 5475 days)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ days: fc.integer({ min: 1, max: 400 }) }),
          fc.record({ inactiveDays: fc.integer({ min: 1, max: 400 }) }),
        ),
        fc.uniqueArray(fc.integer({ min: 1, max: 365 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 6000 * 24 }),
        fc.option(fc.integer({ min: 1, max: MAX_EXPIRATION_DAYS }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 400 * 24 }), { nil: undefined }),
        (expiration, horizons, minRemainingDays, ageHours, expirationDays, activeHoursAgo) => {
          const parsed = parsePolicy({
            tenantId: 't',
            appInstanceArn: APP_INSTANCE_ARN,
            rules: [],
            default: { expiration },
            notify: { horizons },
            safety: { minRemainingDays },
          });
          if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
          const now = T0 + ageHours * 3_600_000;
          const lastActiveAt = activeHoursAgo === undefined ? undefined : now - activeHoursAgo * 3_600_000;
          const decision = decide(
            parsed.policy,
            { appInstanceUserId: 'u' },
            { createdAt: T0, expirationDays, lastActiveAt },
            now,
          );
          if (!decision.changes || decision.desired.kind !== 'set' || decision.clamped) return;
          expect(decision.desiredExpiresAt).not.toBeNull();
          expect((decision.desiredExpiresAt ?? 0) - now).toBeGreaterThanOrEqual(
            Math.min(...horizons) * DAY_MS,
          );
        },
      ),
      { numRuns: 3000 },
    );
  });
});
