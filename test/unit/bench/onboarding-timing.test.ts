import { describe, expect, it } from 'vitest';
import { summarizeTrials } from '../../../bench/deployed/onboarding-timing';

describe('summarizeTrials: the onboarding-fairness phase judges the median of repeated trials', () => {
  it.each([
    { values: [4.2], median: 4.2, min: 4.2, max: 4.2 },
    { values: [6, 5, 9], median: 6, min: 5, max: 9 },
    { values: [5.5, 5.1, 7.9, 5.3, 5.2], median: 5.3, min: 5.1, max: 7.9 },
    { values: [3, 1, 4, 2], median: 2.5, min: 1, max: 4 },
  ])('$values → median $median, $min–$max', ({ values, median, min, max }) => {
    expect(summarizeTrials(values)).toEqual({ median, min, max });
  });

  it('leaves its input in the order given', () => {
    const values = [3, 1, 2];
    summarizeTrials(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it('refuses an empty list rather than reporting NaN as a time', () => {
    expect(() => summarizeTrials([])).toThrow(RangeError);
  });
});
