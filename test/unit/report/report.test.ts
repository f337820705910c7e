import { describe, expect, it } from 'vitest';
import { DAY_MS, type Policy, parsePolicy } from '../../../shared/policy';
import { bucketOf, buildReport, type ReportUser } from '../../../shared/report/data';
import { renderReportHtml } from '../../../shared/report/html';
import { MARKDOWN_SHORTENING_LIMIT, renderPlanMarkdown } from '../../../shared/report/markdown';
import type { PlannedChange } from '../../../shared/sync/plan';
import { PLAN_ARN, plannedChange, planOf } from '../../fixtures/plans';
import { policyDocument } from '../../fixtures/policies';

const NOW = Date.UTC(2026, 11, 1, 12);
const ARN = PLAN_ARN;

function policy(): Policy {
  const parsed = parsePolicy(policyDocument('acme', ARN));
  if (!parsed.ok) throw new Error('fixture');
  return parsed.policy;
}

const change = (id: string, shortens: boolean) =>
  plannedChange(id, null, 7, {
    shortens,
    desiredExpiresAt: new Date(NOW + 7 * DAY_MS).toISOString(),
    reason: 'rule guests: 7 days | <b>',
  });
const plan = (changes: PlannedChange[]) => planOf(changes, NOW, { wouldHold: true, reasons: ['too many'] });

describe('report data', () => {
  it('puts each expiry in its bucket, boundaries included', () => {
    const at = (days: number) => NOW + days * DAY_MS;
    expect(bucketOf(null, NOW)).toBe('never');
    expect(bucketOf(NOW, NOW)).toBe('expired');
    expect(bucketOf(NOW + 1, NOW)).toBe('lt7d');
    expect(bucketOf(at(7) - 1, NOW)).toBe('lt7d');
    expect(bucketOf(at(7), NOW)).toBe('lt30d');
    expect(bucketOf(at(30), NOW)).toBe('lt90d');
    expect(bucketOf(at(90), NOW)).toBe('lt1y');
    expect(bucketOf(at(365), NOW)).toBe('gt1y');
  });

  it('counts before/after per bucket, per calendar day and per rule', () => {
    const users: ReportUser[] = [
      {
        appInstanceUserId: 'guest-a',
        ruleId: 'guests',
        source: 'rule',
        unmanaged: false,
        currentExpiresAt: null,
        desiredExpiresAt: NOW + 7 * DAY_MS,
      },
      {
        appInstanceUserId: 'u',
        ruleId: null,
        source: 'default',
        unmanaged: false,
        currentExpiresAt: NOW - 1,
        desiredExpiresAt: NOW + 88.9 * DAY_MS,
      },
    ];
    const report = buildReport(policy(), plan([change('guest-a', true)]), users, NOW);
    expect(
      Object.fromEntries(report.buckets.map((bucket) => [bucket.id, [bucket.before, bucket.after]])),
    ).toEqual({
      expired: [1, 0],
      lt7d: [0, 0],
      lt30d: [0, 1],
      lt90d: [0, 1],
      lt1y: [0, 0],
      gt1y: [0, 0],
      never: [1, 0],
    });
    expect(report.calendar).toHaveLength(90);
    expect(report.calendar[0]?.date).toBe('2026-12-01');
    expect(report.calendar.filter((day) => day.count > 0)).toEqual([
      { date: '2026-12-08', count: 1 },
      { date: '2027-02-28', count: 1 },
    ]);
    expect(report.rules.find((rule) => rule.rule === 'guests')).toMatchObject({
      users: 1,
      changes: 1,
      shortening: 1,
    });
    expect(report.rules.find((rule) => rule.rule === '(default)')).toMatchObject({ users: 1, changes: 0 });
  });

  it('escapes what it shows, in markdown tables and in HTML', () => {
    const changes = Array.from({ length: MARKDOWN_SHORTENING_LIMIT + 3 }, (_, index) =>
      change(`g-${index}`, true),
    );
    const report = buildReport(policy(), plan(changes), [], NOW);
    const markdown = renderPlanMarkdown(report);
    expect(markdown).toContain('rule guests: 7 days \\| <b>');
    expect(markdown).toContain('…and 3 more');
    const html = renderReportHtml(report);
    expect(html).toContain('rule guests: 7 days | &lt;b&gt;');
    expect(html).not.toContain('7 days | <b>');
  });
});
