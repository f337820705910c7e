import { describe, expect, it } from 'vitest';
import { DAY_MS, decide } from '../../../shared/policy';
import { planTenant } from '../../../shared/sync/plan';
import {
  type ApplyPlanDeps,
  applyIssuedPlan,
  PlanPartlyAppliedError,
  PlanRefusedError,
  TenantBusyError,
} from '../../../shared/sync/plan-apply';
import {
  createPlanFile,
  type PlanFile,
  type PlanFileContent,
  planHash,
} from '../../../shared/sync/plan-file';
import type { ActivityPort } from '../../../shared/sync/ports';
import { appInstanceArn } from '../../fixtures/policies';
import {
  FakeChime,
  FakeEvents,
  FakeIssuedPlans,
  FakeLedger,
  FakePolicies,
  FakeRuns,
} from '../../support/fakes';

const NOW = Date.UTC(2026, 2, 1, 9);
const ARN = appInstanceArn('acme');

/**
 * Tenant acme with the fixture policy (guests 7 days, trial 30 by metadata, staff never, service unmanaged,
 * default 365, floor 1 day), its Chime users, and every port of the apply in memory.
 */
function world(policy: Record<string, unknown> = {}) {
  const policies = new FakePolicies();
  const stored = policies.put('acme', policy, 4);
  const chime = new FakeChime(ARN, 50);
  chime.add({ appInstanceUserId: 'guest-1', createdAt: NOW - DAY_MS, expirationDays: undefined });
  chime.add({ appInstanceUserId: 'guest-2', createdAt: NOW - 2 * DAY_MS, expirationDays: 90 });
  chime.add({ appInstanceUserId: 'emp-1', createdAt: NOW - 400 * DAY_MS, expirationDays: 365 });
  chime.add({ appInstanceUserId: 'svc-1', createdAt: NOW - 9 * DAY_MS, expirationDays: undefined });
  chime.add({
    appInstanceUserId: 'carol',
    createdAt: NOW - 3 * DAY_MS,
    expirationDays: undefined,
    metadata: '{"plan":"trial"}',
  });
  const ledger = new FakeLedger();
  const runs = new FakeRuns();
  const events = new FakeEvents();
  const issued = new FakeIssuedPlans();
  const lastActive = new Map<string, number>();
  const activity: ActivityPort = {
    lastActiveMany: async (_tenant, ids) => new Map([...lastActive].filter(([id]) => ids.includes(id))),
  };
  let now = NOW;
  const deps = (overrides: Partial<ApplyPlanDeps> = {}): ApplyPlanDeps => ({
    policies,
    users: chime,
    ledger,
    activity,
    runs,
    issued,
    events,
    now: () => now,
    settings: { leaseMs: 20 * 60_000, describeConcurrency: 4, writeConcurrency: 2 },
    ...overrides,
  });
  /** The plan `plan --out` writes at `at`, issued (recorded) as it does. */
  const honestPlan = async (at = now, validForMs?: number): Promise<PlanFile> => {
    const plan = await planTenant(stored.policy, chime, at, { activity });
    const file = createPlanFile(plan, stored.version, at, validForMs);
    await issue(file);
    return file;
  };
  const issue = (file: PlanFile) =>
    issued.issue({
      tenantId: file.tenantId,
      sha256: file.sha256,
      policyVersion: file.policyVersion,
      generatedAt: file.generatedAt,
      expiresAt: file.expiresAt,
      changes: file.changes.length,
    });
  const expirations = () =>
    Object.fromEntries([...chime.users].map(([id, user]) => [id, user.expirationDays ?? null]));
  return {
    stored,
    chime,
    ledger,
    runs,
    events,
    issued,
    lastActive,
    deps,
    honestPlan,
    issue,
    expirations,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** The file with its content edited and its hash recomputed, as anyone who can edit it can. */
function reseal(file: PlanFile, edit: (content: PlanFileContent) => PlanFileContent): PlanFile {
  const { sha256: _old, ...content } = structuredClone(file);
  const edited = edit(content);
  return { ...edited, sha256: planHash(edited) };
}

function patchChange(content: PlanFileContent, id: string, patch: Record<string, unknown>): PlanFileContent {
  return {
    ...content,
    changes: content.changes.map((change) =>
      change.appInstanceUserId === id ? { ...change, ...patch } : change,
    ),
  };
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PlanRefusedError) return error.reason;
    throw error;
  }
  throw new Error('the plan was not refused');
}

describe('applyIssuedPlan: an issued plan applies once, as the policy decides', () => {
  it('writes exactly what the engine decides, remembers it, releases held changes, and says so', async () => {
    const w = world();
    const file = await w.honestPlan();
    expect(file.changes.map((c) => [c.appInstanceUserId, c.desired.expirationDays])).toEqual([
      ['carol', 30],
      ['emp-1', null],
      ['guest-1', 7],
      ['guest-2', 7],
    ]);
    await w.runs.addPending('acme', [
      {
        appInstanceUserId: 'guest-2',
        userArn: `${ARN}/user/guest-2`,
        runId: 'r',
        desiredDays: 7,
        ruleId: 'guests',
      },
    ]);
    w.advance(60_000);
    const result = await applyIssuedPlan(structuredClone(file), 'acme', w.deps());
    expect(result).toMatchObject({ applied: 4, skipped: 0, sha256: file.sha256 });
    expect(w.expirations()).toEqual({ 'guest-1': 7, 'guest-2': 7, 'emp-1': null, 'svc-1': null, carol: 30 });
    expect(w.ledger.entries.get('guest-1')).toMatchObject({
      expirationDays: 7,
      appliedPolicyVersion: 4,
      appliedRuleId: 'guests',
    });
    expect(w.runs.pendingItems.size).toBe(0);
    expect(w.runs.lease).toBeUndefined();
    expect(w.issued.plans.get(file.sha256)).toMatchObject({ state: 'applied', applied: 4, skipped: 0 });
    expect(w.events.published.map((event) => event.type)).toEqual(['Plan Applied']);

    // A replay: refused as already applied, not as drift, and nothing is written again.
    const puts = w.chime.puts.length;
    await expect(applyIssuedPlan(file, 'acme', w.deps())).rejects.toMatchObject({
      reason: 'already-applied',
      detail: expect.stringMatching(/was already applied at .* \(applied 4, skipped 0\)/),
    });
    expect(w.chime.puts).toHaveLength(puts);
  });

  it('of two concurrent applies of one plan, one writes and the other writes nothing', async () => {
    const w = world();
    const file = await w.honestPlan();
    const results = await Promise.allSettled([
      applyIssuedPlan(file, 'acme', w.deps()),
      applyIssuedPlan(file, 'acme', w.deps()),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(failed.reason instanceof TenantBusyError || failed.reason?.reason === 'already-applied').toBe(
      true,
    );
    expect(w.chime.puts).toHaveLength(4);
  });

  it('never overlaps a run: refused while one holds the lease; its own lease released whatever happens', async () => {
    const w = world();
    const file = await w.honestPlan();
    await w.runs.acquireLease('acme', 'run-1', NOW, 60_000);
    await expect(applyIssuedPlan(file, 'acme', w.deps())).rejects.toBeInstanceOf(TenantBusyError);
    expect(w.chime.puts).toHaveLength(0);
    await w.runs.releaseLease('acme', 'run-1');
    const forged = reseal(file, (c) => patchChange(c, 'guest-1', { desired: { expirationDays: 1 } }));
    await w.issue(forged);
    await refusal(applyIssuedPlan(forged, 'acme', w.deps()));
    expect(w.runs.lease).toBeUndefined();
  });

  it('refuses a file `plan --out` did not issue: hand-made, or edited and resealed', async () => {
    const w = world();
    const file = await w.honestPlan();
    const edited = reseal(file, (c) => patchChange(c, 'guest-1', { desired: { expirationDays: 1 } }));
    expect(await refusal(applyIssuedPlan(edited, 'acme', w.deps()))).toBe('not-issued');
    expect(w.chime.puts).toHaveLength(0);
  });

  // Forged records: someone who can write the state table records a hand-made plan. The engine still
  // decides every change. [case, edit of the honest plan]
  it.each<[string, (content: PlanFileContent) => PlanFileContent]>([
    [
      '1 day for a guest created a day ago (below the floor)',
      (c) => patchChange(c, 'guest-1', { desired: { expirationDays: 1 } }),
    ],
    [
      '5475 days for a guest',
      (c) => patchChange(c, 'guest-1', { desired: { expirationDays: 5475 }, shortens: false }),
    ],
    ['the right days under another rule', (c) => patchChange(c, 'guest-1', { ruleId: 'trial' })],
    ['a shortening labelled as none', (c) => patchChange(c, 'guest-2', { shortens: false })],
    [
      'removing the expiration of a guest',
      (c) => patchChange(c, 'guest-2', { desired: { expirationDays: null }, shortens: false }),
    ],
    [
      'a change for an unmanaged user',
      (c) => ({
        ...c,
        changes: [
          ...c.changes,
          {
            appInstanceUserId: 'svc-1',
            appInstanceUserArn: `${ARN}/user/svc-1`,
            current: { expirationDays: null },
            desired: { expirationDays: 1 },
            ruleId: 'service',
            shortens: true,
          },
        ],
      }),
    ],
    [
      'a change the policy does not make (already at its value)',
      (c) => patchChange(c, 'guest-2', { current: { expirationDays: 90 }, desired: { expirationDays: 90 } }),
    ],
  ])('refuses the whole plan, writing nothing: %s', async (_case, edit) => {
    const w = world();
    const forged = reseal(await w.honestPlan(), edit);
    await w.issue(forged);
    expect(await refusal(applyIssuedPlan(forged, 'acme', w.deps()))).toBe('not-what-the-policy-decides');
    expect(w.chime.puts).toHaveLength(0);
    expect(w.issued.plans.get(forged.sha256)?.state).toBe('issued');
  });

  // [case, edit of the honest plan, refusal reason]
  it.each<[string, (content: PlanFileContent) => PlanFileContent, string]>([
    [
      'a user ARN in another tenant’s AppInstance',
      (c) => patchChange(c, 'guest-1', { appInstanceUserArn: `${appInstanceArn('globex')}/user/guest-1` }),
      'arn-mismatch',
    ],
    [
      'the plan’s AppInstance another tenant’s',
      (c) => ({ ...c, appInstanceArn: appInstanceArn('globex') }),
      'wrong-app-instance',
    ],
    [
      'an expiry a year ahead',
      (c) => ({ ...c, expiresAt: new Date(NOW + 365 * DAY_MS).toISOString() }),
      'validity-too-long',
    ],
    [
      'one user twice',
      (c) => ({ ...c, changes: [...c.changes, ...c.changes.slice(0, 1)] }),
      'duplicate-users',
    ],
    ['another policy version', (c) => ({ ...c, policyVersion: 3 }), 'policy-moved-on'],
  ])('refuses an issued plan with %s before reading a user', async (_case, edit, reason) => {
    const w = world();
    const forged = reseal(await w.honestPlan(), edit);
    await w.issue(forged);
    const describes = w.chime.describes;
    expect(await refusal(applyIssuedPlan(forged, 'acme', w.deps()))).toBe(reason);
    expect(w.chime.describes).toBe(describes);
    expect(w.chime.puts).toHaveLength(0);
  });
});

describe('applyIssuedPlan: what changed since the plan', () => {
  // Guest-1 was created a day before the plan, which sets 7 days; the floor keeps 1 day. [delay, outcome]
  it.each<[string, number, string, number | null]>([
    ['a minute later: the same decision', 60_000, 'applied', 7],
    ['5 days later: 7 days still leave a day', 5 * DAY_MS, 'applied', 7],
    ['5.5 days later: 7 days would leave half a day (the floor now says 8)', 5.5 * DAY_MS, 'changed', null],
  ])('%s', async (_case, delay, outcome, after) => {
    const w = world();
    const file = await w.honestPlan(NOW, 7 * DAY_MS);
    w.advance(delay);
    const result = await applyIssuedPlan(file, 'acme', w.deps());
    expect(result.changes.find((c) => c.appInstanceUserId === 'guest-1')?.outcome).toBe(outcome);
    expect(w.expirations()['guest-1']).toBe(after);
    if (outcome === 'changed') {
      expect(result.changes.find((c) => c.appInstanceUserId === 'guest-1')?.why).toContain(
        'floor: raised to 8 days',
      );
    }
  });

  it('skips drift, users gone and users promoted to admin since, and writes the rest', async () => {
    const w = world();
    const file = await w.honestPlan();
    w.chime.users.delete('emp-1');
    w.chime.admins.add('carol');
    const guest2 = w.chime.users.get('guest-2');
    if (guest2) guest2.expirationDays = 30;
    const result = await applyIssuedPlan(file, 'acme', w.deps());
    expect(result.changes).toEqual([
      { appInstanceUserId: 'carol', outcome: 'protected' },
      { appInstanceUserId: 'emp-1', outcome: 'gone' },
      { appInstanceUserId: 'guest-1', outcome: 'applied' },
      { appInstanceUserId: 'guest-2', outcome: 'drifted', found: 30 },
    ]);
    expect(w.expirations()).toMatchObject({ 'guest-1': 7, 'guest-2': 30, carol: null });
  });

  it('stops at a failed write, keeps what it wrote, and the consumed plan cannot be applied again', async () => {
    const w = world();
    const file = await w.honestPlan();
    const deps = w.deps({ settings: { leaseMs: 60_000, describeConcurrency: 1, writeConcurrency: 1 } });
    let writes = 0;
    const put = w.chime.putExpiration.bind(w.chime);
    w.chime.putExpiration = async (arn, days) => {
      if (++writes === 3) throw new Error('Chime is down');
      return put(arn, days);
    };
    await expect(applyIssuedPlan(file, 'acme', deps)).rejects.toBeInstanceOf(PlanPartlyAppliedError);
    expect(w.chime.puts).toHaveLength(2);
    expect(w.ledger.entries.size).toBe(2);
    expect(await refusal(applyIssuedPlan(file, 'acme', deps))).toBe('already-applied');
  });
});

describe('applyIssuedPlan: renewal by activity', () => {
  const renewing = {
    rules: [
      { id: 'renew', priority: 1, match: { userIdPrefix: 'guest-' }, expiration: { inactiveDays: 30 } },
    ],
  };

  it('applies a plan made with the activity recorded now, and skips a user active since the plan', async () => {
    const w = world(renewing);
    w.lastActive.set('guest-1', NOW - 3_600_000);
    const file = await w.honestPlan();
    expect(file.changes.find((c) => c.appInstanceUserId === 'guest-1')?.current.lastActiveAt).toBe(
      new Date(NOW - 3_600_000).toISOString(),
    );
    expect(file.changes.find((c) => c.appInstanceUserId === 'guest-2')?.current.lastActiveAt).toBeNull();
    w.lastActive.set('guest-2', NOW + 1_000);
    w.advance(60_000);
    const result = await applyIssuedPlan(file, 'acme', w.deps());
    expect(result.changes.filter((c) => c.appInstanceUserId.startsWith('guest-'))).toEqual([
      { appInstanceUserId: 'guest-1', outcome: 'applied' },
      {
        appInstanceUserId: 'guest-2',
        outcome: 'changed',
        why: 'its recorded activity moved on since the plan',
      },
    ]);
  });

  it('refuses a forged change that claims no activity for a policy that renews by activity', async () => {
    const w = world(renewing);
    const forged = reseal(await w.honestPlan(), (c) =>
      patchChange(c, 'guest-1', { current: { expirationDays: null } }),
    );
    await w.issue(forged);
    expect(await refusal(applyIssuedPlan(forged, 'acme', w.deps()))).toBe('not-what-the-policy-decides');
  });
});

describe('applyIssuedPlan: an honest plan always agrees with the engine', () => {
  /** A small seeded PRNG (mulberry32), so every run tries the same users. */
  function random(seed: number): () => number {
    let state = seed;
    return () => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
  }

  it('for 300 random users, a random delay within its validity and an exemption ending meanwhile: never refused, and every write is what the policy decides now', async () => {
    const next = random(42);
    const w = world({
      exemptions: [
        {
          id: 'pilot',
          match: { userIdPrefix: 'guest-p' },
          expiration: { days: 60 },
          until: new Date(NOW + 3 * DAY_MS).toISOString(),
          reason: 'pilot',
          owner: 'ops',
        },
      ],
      safety: { minRemainingDays: 2, maxShorteningChanges: 100, maxShorteningPercent: 10 },
    });
    w.chime.users.clear();
    const prefixes = ['guest-', 'guest-p', 'emp-', 'svc-', 'user-'];
    for (let index = 0; index < 300; index++) {
      const prefix = prefixes[Math.floor(next() * prefixes.length)] ?? 'user-';
      const age = Math.floor(next() * 400 * DAY_MS);
      const days = next() < 0.3 ? undefined : 1 + Math.floor(next() * 500);
      w.chime.add({
        appInstanceUserId: `${prefix}${prefix === 'emp-' ? index : `u${index}`}`,
        createdAt: NOW - age,
        expirationDays: days,
        ...(next() < 0.2 ? { metadata: '{"plan":"trial"}' } : {}),
      });
    }
    const file = await w.honestPlan(NOW, 7 * DAY_MS);
    expect(file.changes.length).toBeGreaterThan(100);
    const delay = Math.floor(next() * 7 * DAY_MS);
    w.advance(delay);
    const result = await applyIssuedPlan(file, 'acme', w.deps());
    expect(result.applied + result.skipped).toBe(file.changes.length);
    for (const change of result.changes) {
      const user = w.chime.users.get(change.appInstanceUserId);
      if (!user) throw new Error('user lost');
      expect(['applied', 'changed']).toContain(change.outcome);
      if (change.outcome !== 'applied') continue;
      // Written = what the engine decides now for the user as it was: nothing left to change.
      const now = decide(
        w.stored.policy,
        user,
        { createdAt: user.createdAt, expirationDays: user.expirationDays },
        NOW + delay,
        { admins: new Set() },
      );
      expect(now.changes, `${change.appInstanceUserId} after ${delay} ms`).toBe(false);
    }
  });
});
