import { describe, expect, it } from 'vitest';
import {
  type BenchRow,
  type Bounds,
  effectiveBound,
  machineBound,
  meetsGoal,
  quotaBinds,
  renderSection,
} from '../../../bench/lib';

const rate = (quota: number, ceiling: number): Bounds => ({
  kind: 'rate',
  quota,
  ceiling,
  unit: 'creates/s',
});
const seconds = (quota: number, ceiling: number): Bounds => ({ kind: 'seconds', quota, ceiling, unit: 's' });

describe('bench bounds: the quota against this machine’s ceiling (issue 24)', () => {
  it.each([
    // kind, quota, ceiling, quota binds, effective bound
    ['rate: quota half the ceiling', rate(250, 500), true, 250],
    ['rate: quota just over half the ceiling', rate(251, 500), false, 251],
    ['rate: quota above the ceiling', rate(1000, 330), false, 330],
    ['seconds: quota bound twice the ceiling time', seconds(20, 10), true, 20],
    ['seconds: quota bound under twice the ceiling time', seconds(19.9, 10), false, 19.9],
    ['seconds: ceiling time beyond the quota bound', seconds(20, 25), false, 25],
  ])('%s', (_name, bounds, binds, effective) => {
    expect(quotaBinds(bounds)).toBe(binds);
    expect(effectiveBound(bounds)).toBe(effective);
  });

  it.each([
    ['judged where the quota binds, met', rate(250, 600), 0.95, true],
    ['judged where the quota binds, missed', rate(250, 600), 0.8, false],
    ['not judged where the machine binds, even when it would pass', rate(1000, 330), 0.95, undefined],
    ['not judged where the machine binds, even when it would miss', rate(1000, 330), 0.4, undefined],
  ])('%s', (_name, bounds, value, met) => {
    const row: BenchRow = { metric: 'm', value, unit: '', bounds, goal: { op: '>=', value: 0.9 } };
    expect(meetsGoal(row)).toBe(met);
    expect(machineBound(row)).toBe(met === undefined);
  });

  it('prints both bounds, which one binds, and "machine-bound" instead of a verdict', () => {
    const table = renderSection({
      title: 't',
      rows: [
        { metric: 'quota', value: 0.95, unit: '', bounds: rate(250, 600), goal: { op: '>=', value: 0.9 } },
        { metric: 'machine', value: 0.95, unit: '', bounds: rate(1000, 330), goal: { op: '>=', value: 0.9 } },
      ],
    });
    expect(table).toContain(
      '| quota | 0.950  | quota 250 creates/s, ceiling 600 creates/s: the quota binds |  | >= 0.900 | yes |',
    );
    expect(table).toContain(
      '| machine | 0.950  | quota 1,000 creates/s, ceiling 330 creates/s: the machine binds |  | >= 0.900 | machine-bound |',
    );
  });

  it('leaves rows without bounds as they were', () => {
    const row: BenchRow = { metric: 'm', value: 3, unit: '%', goal: { op: '<=', value: 1 } };
    expect(meetsGoal(row)).toBe(false);
    expect(machineBound(row)).toBe(false);
  });
});
