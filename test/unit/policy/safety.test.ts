import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SAFETY, evaluateSafety } from '../../../shared/policy';

describe('evaluateSafety', () => {
  it.each<[string, number, number, boolean]>([
    ['no shortening', 1000, 0, false],
    ['exactly the change cap', 10_000, 100, false],
    ['one over the change cap', 10_000, 101, true],
    ['exactly the percent cap', 1000, 100, false],
    ['just over the percent cap', 999, 100, true],
    ['a small tenant over the percent cap', 10, 2, true],
    ['no users scanned (no percent hold)', 0, 0, false],
  ])('%s: %i scanned, %i shortening → hold %s', (_name, usersScanned, shorteningChanges, hold) => {
    expect(evaluateSafety(DEFAULT_SAFETY, { usersScanned, shorteningChanges }).hold).toBe(hold);
  });

  it('gives a reason per cap that is exceeded', () => {
    expect(evaluateSafety(DEFAULT_SAFETY, { usersScanned: 500, shorteningChanges: 250 })).toEqual({
      hold: true,
      reasons: [
        '250 shortening changes exceed maxShorteningChanges 100',
        '250 shortening changes are 50% of 500 users scanned, above maxShorteningPercent 10%',
      ],
    });
  });

  it.each<[number, number, number]>([
    [7, 100, 7],
    [2.5, 1000, 25],
    [0.1, 1000, 1],
  ])('does not hold at exactly %s%% (%i scanned, %i shortening) despite floating point', (percent, scanned, shortening) => {
    const safety = { maxShorteningChanges: 1_000_000, maxShorteningPercent: percent };
    expect(evaluateSafety(safety, { usersScanned: scanned, shorteningChanges: shortening })).toEqual({
      hold: false,
      reasons: [],
    });
    expect(evaluateSafety(safety, { usersScanned: scanned, shorteningChanges: shortening + 1 }).hold).toBe(
      true,
    );
  });

  it('holds with zero caps as soon as anything shortens', () => {
    const strict = { maxShorteningChanges: 0, maxShorteningPercent: 0 };
    expect(evaluateSafety(strict, { usersScanned: 1, shorteningChanges: 0 }).hold).toBe(false);
    expect(evaluateSafety(strict, { usersScanned: 1, shorteningChanges: 1 }).reasons).toHaveLength(2);
  });

  it('holds exactly when a cap is exceeded (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 100 }),
        (usersScanned, shorteningChanges, maxShorteningChanges, maxShorteningPercent) => {
          const verdict = evaluateSafety(
            { maxShorteningChanges, maxShorteningPercent },
            { usersScanned, shorteningChanges },
          );
          const overCount = shorteningChanges > maxShorteningChanges;
          const overPercent =
            usersScanned > 0 && shorteningChanges * 100 > maxShorteningPercent * usersScanned;
          expect(verdict.hold).toBe(overCount || overPercent);
          expect(verdict.reasons).toHaveLength(Number(overCount) + Number(overPercent));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
