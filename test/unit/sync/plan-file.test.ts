import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../../../shared/policy';
import type { PlannedChange } from '../../../shared/sync/plan';
import {
  canonicalJson,
  checkAgainstPolicy,
  checkPlanFile,
  createPlanFile,
  MAX_PLAN_CHANGES,
  type PlanFile,
  type PlanFileContent,
  planHash,
} from '../../../shared/sync/plan-file';
import { PLAN_ARN, plannedChange, planOf } from '../../fixtures/plans';

const NOW = Date.UTC(2026, 2, 1, 9, 0, 0);
const ARN = PLAN_ARN;

const change = (id: string, currentDays: number | null, desiredDays: number | null) =>
  plannedChange(id, currentDays, desiredDays);
const plan = (changes: PlannedChange[]) => planOf(changes, NOW);

const file = () =>
  createPlanFile(
    plan([change('guest-1', null, 7), change('guest-2', 90, 7), change('emp-1', 200, null)]),
    4,
    NOW,
  );
const expected = { tenantId: 'acme', now: NOW + 60_000 };
/** Rewrites a file's content and recomputes its hash, as anyone who can edit the file can. */
const resealed = (edit: (content: PlanFileContent) => Record<string, unknown>) => {
  const { sha256: _old, ...content } = file();
  const edited = edit(content) as PlanFileContent;
  return { ...edited, sha256: planHash(edited) };
};
/** The content with change `index` patched. */
const withChangePatched = (content: PlanFileContent, index: number, patch: Record<string, unknown>) => ({
  ...content,
  changes: content.changes.map((c, i) => (i === index ? { ...c, ...patch } : c)),
});
const userArn = (appInstanceArn: string, id: string) => `${appInstanceArn}/user/${id}`;

describe('plan file: hash and validity', () => {
  it('is sealed with a SHA-256 over its canonical content, independent of key order', () => {
    const sealed = file();
    const { sha256, ...content } = sealed;
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(planHash(content)).toBe(sha256);
    const reordered = Object.fromEntries(Object.entries(content).reverse());
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(content));
    expect(canonicalJson(reordered)).toBe(canonicalJson(content));
    expect(sealed.expiresAt).toBe(new Date(NOW + DAY_MS).toISOString());
    expect(checkPlanFile(JSON.parse(JSON.stringify(sealed)), expected)).toEqual({ ok: true, plan: sealed });
  });

  // [case, edit of the file, expected now / version, refusal reason]
  it.each<[string, (plan: PlanFile) => unknown, Partial<typeof expected>, string]>([
    [
      'one desired value changed by hand',
      (p) => withChange(p, 1, { desired: { expirationDays: 3 } }),
      {},
      'hash-mismatch',
    ],
    [
      'one current value changed by hand',
      (p) => withChange(p, 0, { current: { expirationDays: 5 } }),
      {},
      'hash-mismatch',
    ],
    ['a change removed', (p) => ({ ...p, changes: p.changes.slice(1) }), {}, 'hash-mismatch'],
    [
      'expiry pushed out by hand',
      (p) => ({ ...p, expiresAt: new Date(NOW + 9 * DAY_MS).toISOString() }),
      {},
      'hash-mismatch',
    ],
    ['the seal replaced by garbage', (p) => ({ ...p, sha256: 'f'.repeat(64) }), {}, 'hash-mismatch'],
    ['no seal', ({ sha256: _s, ...p }) => p, {}, 'malformed'],
    ['not a plan at all', () => ({ hello: 'world' }), {}, 'malformed'],
    ['expired', (p) => p, { now: NOW + DAY_MS }, 'expired'],
    ['another tenant', (p) => p, { tenantId: 'globex' }, 'wrong-tenant'],
    [
      'resealed with an expiry years ahead',
      () => resealed((c) => ({ ...c, expiresAt: new Date(NOW + 3 * 365 * DAY_MS).toISOString() })),
      {},
      'validity-too-long',
    ],
    [
      'resealed with an expiry one second past the 30-day cap',
      () => resealed((c) => ({ ...c, expiresAt: new Date(NOW + 30 * DAY_MS + 1_000).toISOString() })),
      {},
      'validity-too-long',
    ],
    [
      'resealed to expire before it was made',
      () => resealed((c) => ({ ...c, expiresAt: new Date(NOW - 1).toISOString() })),
      {},
      'validity-too-long',
    ],
    [
      'resealed as made tomorrow',
      () =>
        resealed((c) => ({
          ...c,
          generatedAt: new Date(NOW + DAY_MS).toISOString(),
          expiresAt: new Date(NOW + 2 * DAY_MS).toISOString(),
        })),
      {},
      'not-yet-valid',
    ],
    [
      'resealed with one user twice',
      () =>
        resealed((c) => ({
          ...c,
          changes: [...c.changes, { ...c.changes[0], desired: { expirationDays: 9 } }],
        })),
      {},
      'duplicate-users',
    ],
    [
      `more than ${MAX_PLAN_CHANGES} changes`,
      (p) => ({ ...p, changes: Array.from({ length: MAX_PLAN_CHANGES + 1 }, () => p.changes[0]) }),
      {},
      'too-large',
    ],
    [
      'a user id Chime would never give (a path in it)',
      () => resealed((c) => withChangePatched(c, 0, { appInstanceUserId: '../guest-1' })),
      {},
      'malformed',
    ],
    [
      'a file of the earlier format',
      () => resealed((c) => ({ ...c, format: 'chime-lifecycle-plan/1' })),
      {},
      'malformed',
    ],
  ])('refuses the whole plan: %s', (_name, edit, overrides, reason) => {
    const check = checkPlanFile(edit(file()), { ...expected, ...overrides });
    expect(check.ok).toBe(false);
    if (!check.ok) {
      expect(check.refusal.reason).toBe(reason);
      expect(check.refusal.message).toMatch(/nothing applied/);
    }
  });

  it('refuses a validity of 0 or more than 30 days, and more changes than a plan may hold', () => {
    expect(() => createPlanFile(plan([]), 1, NOW, 0)).toThrow(RangeError);
    expect(() => createPlanFile(plan([]), 1, NOW, 31 * DAY_MS)).toThrow(RangeError);
    const many = Array.from({ length: MAX_PLAN_CHANGES + 1 }, (_, i) => change(`guest-${i}`, null, 7));
    expect(() => createPlanFile(plan(many), 1, NOW)).toThrow(/at most 10000/);
  });

  it('never quotes the file back: an unknown key is counted, not named', () => {
    const check = checkPlanFile({ ...file(), ['\u001b]52;c;AA==\u0007'.repeat(100)]: 1 }, expected);
    expect(check.ok).toBe(false);
    if (!check.ok)
      expect(check.refusal.message).toBe(
        'not a chime-lifecycle plan file: (root): 1 unknown key(s); nothing applied',
      );
  });
});

describe('plan file: against the stored policy', () => {
  const stored = { version: 4, appInstanceArn: ARN };
  const other = 'arn:aws:chime:us-east-1:111122223333:app-instance/other-tenant';

  // [case, edit (resealed), refusal reason or null]
  it.each<[string, (content: PlanFileContent) => Record<string, unknown>, string | null]>([
    ['as made', (c) => c, null],
    ['made from another policy version', (c) => ({ ...c, policyVersion: 3 }), 'policy-moved-on'],
    ['another tenant’s AppInstance', (c) => ({ ...c, appInstanceArn: other }), 'wrong-app-instance'],
    [
      'one change with a user ARN of another tenant’s AppInstance',
      (c) => withChangePatched(c, 1, { appInstanceUserArn: `${other}/user/guest-2` }),
      'arn-mismatch',
    ],
    [
      'one change labelled with one user but carrying another user’s ARN',
      (c) => withChangePatched(c, 0, { appInstanceUserArn: `${ARN}/user/emp-1` }),
      'arn-mismatch',
    ],
  ])('%s', (_case, edit, reason) => {
    const check = checkPlanFile(resealed(edit), expected);
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    expect(checkAgainstPolicy(check.plan, stored, userArn)?.reason ?? null).toBe(reason);
  });
});

function withChange(p: PlanFile, index: number, patch: Record<string, unknown>): PlanFile {
  return { ...p, changes: p.changes.map((c, i) => (i === index ? { ...c, ...patch } : c)) };
}
