import { describe, expect, it } from 'vitest';
import {
  dueForVerification,
  MAX_USERS_PER_APP_INSTANCE,
  shorteningCanBeHeld,
  sightingStale,
  unseenByRun,
  verificationSpread,
} from '../../../shared/policy';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('shorteningCanBeHeld', () => {
  it.each([
    // percent, changes, approved → held?
    [10, 100, false, true],
    [100, 100, false, true],
    [99.9, 100_000, false, true],
    [100, 99_999, false, true],
    [100, 100_000, false, false],
    [100, 1_000_000, false, false],
    [10, 100, true, false],
  ])('percent %d, changes %d, approved %s → %s', (maxShorteningPercent, maxShorteningChanges, approved, held) => {
    expect(shorteningCanBeHeld({ maxShorteningPercent, maxShorteningChanges }, approved)).toBe(held);
  });

  it('uses the Chime quota of users per AppInstance', () => {
    expect(MAX_USERS_PER_APP_INSTANCE).toBe(100_000);
  });
});

describe('verificationSpread', () => {
  it.each([
    // FNV-1a (32-bit) of the id, mod 10,000, mapped onto [0.5, 1); computed independently (Python, exact
    // integer arithmetic) and fixed here.
    ['', 0.81305],
    ['a', 0.611],
    ['guest-1', 0.51125],
  ])('spread(%j) = %d', (id, expected) => {
    expect(verificationSpread(id)).toBeCloseTo(expected, 12);
  });

  it('stays in [0.5, 1) and spreads users', () => {
    const spreads = Array.from({ length: 1_000 }, (_, index) => verificationSpread(`user-${index}`));
    expect(Math.min(...spreads)).toBeGreaterThanOrEqual(0.5);
    expect(Math.max(...spreads)).toBeLessThan(1);
    expect(new Set(spreads.map((spread) => spread.toFixed(2))).size).toBeGreaterThan(40);
  });
});

describe('dueForVerification', () => {
  const id = 'a';
  const spread = 0.611;
  it.each([
    [0, false],
    [Math.floor(30 * DAY * spread) - 1, false],
    [Math.ceil(30 * DAY * spread), true],
    [30 * DAY, true],
  ])('verified %d ms ago → %s', (age, due) => {
    expect(
      dueForVerification({ appInstanceUserId: id, verifiedAt: 1_000 * DAY - age }, 1_000 * DAY, 30 * DAY),
    ).toBe(due);
  });

  it('an interval of 0 makes every entry due', () => {
    expect(dueForVerification({ appInstanceUserId: 'x', verifiedAt: 5 }, 5, 0)).toBe(true);
  });
});

describe('sightingStale', () => {
  it.each([
    [undefined, true],
    [10 * DAY - DAY, true],
    [10 * DAY - DAY + 1, false],
    [10 * DAY, false],
  ])('last seen at %s, now 10 days, refresh 1 day → %s', (lastSeenAt, stale) => {
    expect(sightingStale({ lastSeenAt }, 10 * DAY, DAY)).toBe(stale);
  });
});

describe('unseenByRun', () => {
  const started = 10 * DAY;
  it.each([
    [{ lastSeenAt: undefined, verifiedAt: 0 }, true],
    [{ lastSeenAt: started - DAY - 1, verifiedAt: 0 }, true],
    [{ lastSeenAt: started - DAY, verifiedAt: 0 }, false],
    // Onboarding writes entries without a sighting: its verification counts as one.
    [{ lastSeenAt: undefined, verifiedAt: started - HOUR }, false],
  ])('%j → gone: %s', (entry, gone) => {
    expect(unseenByRun(entry, started, DAY)).toBe(gone);
  });
});
