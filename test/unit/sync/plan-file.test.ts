import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../../shared/contracts/ledger';
import type { PendingShortening } from '../../../shared/contracts/run';
import { DAY_MS } from '../../../shared/policy';
import type { PlannedChange } from '../../../shared/sync/plan';
import {
  applyPlanFile,
  canonicalJson,
  checkPlanFile,
  createPlanFile,
  type PlanFile,
  planHash,
} from '../../../shared/sync/plan-file';
import { PLAN_ARN, plannedChange, planOf } from '../../fixtures/plans';
import { FakeChime, FakeEvents } from '../../support/fakes';

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
const expected = { tenantId: 'acme', policyVersion: 4, now: NOW + 60_000 };

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
    ['the stored policy moved on', (p) => p, { policyVersion: 5 }, 'policy-moved-on'],
    ['another tenant', (p) => p, { tenantId: 'globex' }, 'wrong-tenant'],
  ])('refuses the whole plan: %s', (_name, edit, overrides, reason) => {
    const check = checkPlanFile(edit(file()), { ...expected, ...overrides });
    expect(check.ok).toBe(false);
    if (!check.ok) {
      expect(check.refusal.reason).toBe(reason);
      expect(check.refusal.message).toMatch(/nothing applied|not a chime-lifecycle plan file/);
    }
  });

  it('refuses a validity of 0 or more than 30 days', () => {
    expect(() => createPlanFile(plan([]), 1, NOW, 0)).toThrow(RangeError);
    expect(() => createPlanFile(plan([]), 1, NOW, 31 * DAY_MS)).toThrow(RangeError);
  });
});

function withChange(p: PlanFile, index: number, patch: Record<string, unknown>): PlanFile {
  return { ...p, changes: p.changes.map((c, i) => (i === index ? { ...c, ...patch } : c)) };
}

describe('plan file: drift check when applying', () => {
  function setup(current: Record<string, number | undefined>, admins: string[] = []) {
    const chime = new FakeChime(ARN);
    for (const [id, days] of Object.entries(current)) {
      chime.add({ appInstanceUserId: id, createdAt: NOW - 10 * DAY_MS, expirationDays: days });
    }
    for (const admin of admins) chime.admins.add(admin);
    const ledger = new Map<string, LedgerEntry>();
    const removedPending: string[] = [];
    const events = new FakeEvents();
    const deps = {
      users: chime,
      ledger: {
        getMany: async (_t: string, ids: readonly string[]) =>
          new Map([...ledger].filter(([id]) => ids.includes(id))),
        putMany: async (_t: string, entries: readonly LedgerEntry[]) => {
          for (const entry of entries) ledger.set(entry.appInstanceUserId, entry);
        },
      },
      runs: {
        removePending: async (_t: string, ids: readonly string[]) => void removedPending.push(...ids),
        pending: async function* (): AsyncGenerator<PendingShortening> {},
      },
      events,
      now: () => NOW + 1000,
      protectAdmins: true,
    };
    return { chime, ledger, removedPending, events, deps };
  }

  // [case, user's expiration now, plan's current → desired, outcome, days after]
  it.each<[string, number | undefined, number | null, number | null, string, number | undefined]>([
    ['unchanged since the plan: applied', undefined, null, 7, 'applied', 7],
    ['unchanged (90): applied', 90, 90, 7, 'applied', 7],
    ['removal, unchanged: applied', 200, 200, null, 'applied', undefined],
    ['someone set 30 meanwhile: drift, skipped', 30, null, 7, 'drifted', 30],
    ['someone removed it meanwhile: drift, skipped', undefined, 90, 7, 'drifted', undefined],
    ['already at the desired value by other means: drift, skipped', 7, 90, 7, 'drifted', 7],
  ])('%s', async (_name, now, current, desired, outcome, after) => {
    const { chime, deps, events, removedPending } = setup({ 'user-1': now });
    const sealed = createPlanFile(plan([change('user-1', current, desired)]), 4, NOW);
    const result = await applyPlanFile(sealed, deps);
    expect(result.changes).toEqual([
      outcome === 'drifted'
        ? { appInstanceUserId: 'user-1', outcome, found: now ?? null }
        : { appInstanceUserId: 'user-1', outcome },
    ]);
    expect(chime.users.get('user-1')?.expirationDays).toBe(after);
    expect(chime.puts).toHaveLength(outcome === 'applied' ? 1 : 0);
    expect(removedPending).toEqual(outcome === 'applied' ? ['user-1'] : []);
    expect(events.published).toEqual([
      {
        type: 'Plan Applied',
        detail: expect.objectContaining({
          sha256: sealed.sha256,
          applied: outcome === 'applied' ? 1 : 0,
          drifted: outcome === 'drifted' ? 1 : 0,
        }),
      },
    ]);
  });

  it('skips a user deleted since the plan, and one promoted to admin since', async () => {
    const { chime, deps } = setup({ 'user-1': undefined, boss: undefined }, ['boss']);
    const sealed = createPlanFile(
      plan([change('gone-1', null, 7), change('boss', null, 7), change('user-1', null, 7)]),
      4,
      NOW,
    );
    const result = await applyPlanFile(sealed, deps);
    expect(result.changes.map((c) => [c.appInstanceUserId, c.outcome])).toEqual([
      ['gone-1', 'gone'],
      ['boss', 'protected'],
      ['user-1', 'applied'],
    ]);
    expect(result).toMatchObject({ applied: 1, skipped: 2 });
    expect(chime.users.get('boss')?.expirationDays).toBeUndefined();
  });
});
