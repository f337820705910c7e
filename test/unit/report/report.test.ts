import { describe, expect, it } from 'vitest';
import { DAY_MS, type Policy, parsePolicy } from '../../../shared/policy';
import { bucketOf, buildReport, policySourceText, type ReportUser } from '../../../shared/report/data';
import { renderReportHtml } from '../../../shared/report/html';
import { MARKDOWN_SHORTENING_LIMIT, renderPlanMarkdown } from '../../../shared/report/markdown';
import type { PlannedChange } from '../../../shared/sync/plan';
import { PLAN_ARN, plannedChange, planOf } from '../../fixtures/plans';
import { policyDocument } from '../../fixtures/policies';

const NOW = Date.UTC(2026, 11, 1, 12);
const ARN = PLAN_ARN;
const STORED = { kind: 'stored', version: 4 } as const;

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
    const report = buildReport(policy(), STORED, plan([change('guest-a', true)]), users, NOW);
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
    const report = buildReport(policy(), { kind: 'unsaved', file: 'x|<i>.json' }, plan(changes), [], NOW);
    const markdown = renderPlanMarkdown(report);
    expect(markdown).toContain('rule guests: 7 days \\| <b>');
    expect(markdown).toContain('…and 3 more');
    const html = renderReportHtml(report);
    expect(html).toContain('rule guests: 7 days | &lt;b&gt;');
    expect(html).not.toContain('7 days | <b>');
    // The unsaved file's name, escaped in both.
    expect(markdown).toContain('unsaved file x\\|<i>.json');
    expect(html).toContain('unsaved file x|&lt;i&gt;.json');
  });
});

describe('report: which policy, and every change', () => {
  const user = (id: string, current: number | null, desired: number | null): ReportUser => ({
    appInstanceUserId: id,
    ruleId: null,
    source: 'default',
    unmanaged: false,
    currentExpiresAt: current === null ? null : NOW + current * DAY_MS,
    desiredExpiresAt: desired === null ? null : NOW + desired * DAY_MS,
  });

  it.each([
    [{ kind: 'stored', version: 4 } as const, 'policy version 4'],
    [{ kind: 'unsaved', file: 'policies/acme.json' } as const, 'unsaved file policies/acme.json'],
  ])('names the policy it used: %o', (source, text) => {
    expect(policySourceText(source)).toBe(text);
    const report = buildReport(policy(), source, plan([]), [], NOW);
    expect(report.policySource).toEqual(source);
    expect(renderPlanMarkdown(report)).toContain(` · ${text} · generated `);
    expect(renderReportHtml(report)).toContain(`data-kind="${source.kind}">${text}</span>`);
  });

  it('shows a change that stays in its bucket: the bucket counts are unchanged, the moves are not', () => {
    // Both re-dated inside "< 1 y" (200 d → 300 d, 100 d → 364 d); a third user keeps its date.
    const users = [user('a', 200, 300), user('b', 100, 364), user('c', 150, 150)];
    const report = buildReport(policy(), STORED, plan([]), users, NOW);
    const lt1y = report.buckets.find((bucket) => bucket.id === 'lt1y');
    expect(lt1y).toMatchObject({ before: 3, after: 3, changingBefore: 2, changedAfter: 2 });
    expect(report.moves).toEqual([{ from: 'lt1y', to: 'lt1y', users: 2 }]);
    const markdown = renderPlanMarkdown(report);
    expect(markdown).toContain('| < 1 y | < 1 y (same bucket, another date) | 2 |');
    expect(markdown).toMatch(/^< 1 y +3 .*→ +3 .*\(2 changed\)$/m);
    const html = renderReportHtml(report);
    expect(html).toContain('class="changed" data-bucket="lt1y" data-series="before" data-count="2"');
    expect(html).toContain('class="changed" data-bucket="lt1y" data-series="after" data-count="2"');
    expect(html).toMatch(
      /<table id="moves">.*<td>&lt; 1 y<\/td><td>&lt; 1 y \(same bucket, another date\)<\/td><td class="num">2<\/td>/,
    );
  });

  it('counts moves between buckets, most first, and says so when nothing changes', () => {
    const users = [user('a', null, 7.5), user('b', null, 8), user('c', 400, 364), user('d', 3, 3)];
    const report = buildReport(policy(), STORED, plan([]), users, NOW);
    expect(report.moves).toEqual([
      { from: 'never', to: 'lt30d', users: 2 },
      { from: 'gt1y', to: 'lt1y', users: 1 },
    ]);
    expect(report.buckets.find((bucket) => bucket.id === 'never')).toMatchObject({
      before: 2,
      after: 0,
      changingBefore: 2,
      changedAfter: 0,
    });
    const still = buildReport(policy(), STORED, plan([]), [user('d', 3, 3)], NOW);
    expect(still.moves).toEqual([]);
    expect(renderPlanMarkdown(still)).toContain('No user changes expiry.');
    expect(renderReportHtml(still)).toContain('<p id="moves" data-count="0">No user changes expiry.</p>');
  });
});
