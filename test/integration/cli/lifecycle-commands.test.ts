import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '../../../shared/contracts/lifecycle-events';
import { DAY_MS, renewalDays } from '../../../shared/policy';
import { syncInProcess } from '../../../shared/sync/pull-mode';
import { seedTenant } from '../../support/chime';
import { type CliStack, startCliStack } from './harness';

const TENANT = 'renew';

/** `activity`, `expiring` and a plan of an inactiveDays policy, as a user runs them (separate processes). */
describe('chime-lifecycle activity and expiring', { timeout: 240_000 }, () => {
  let stack: CliStack;
  let arn: string;

  beforeAll(async () => {
    stack = await startCliStack();
    arn = seedTenant(
      stack.emulator,
      [
        { appInstanceUserId: 'active-1', ageMs: 20 * DAY_MS, expirationDays: 30 },
        { appInstanceUserId: 'idle-1', ageMs: 20 * DAY_MS, expirationDays: 30 },
        { appInstanceUserId: 'other', ageMs: DAY_MS },
      ],
      TENANT,
    );
    const file = await stack.write('policy.json', {
      tenantId: TENANT,
      appInstanceArn: arn,
      rules: [
        { id: 'renewed', priority: 1, match: { userIdPattern: '-1$' }, expiration: { inactiveDays: 30 } },
      ],
      default: { expiration: { days: 200 } },
      notify: { horizons: [30, 7] },
      // Giving `other` its first expiry counts as shortening; nothing here is about the caps.
      safety: { maxShorteningPercent: 100, maxShorteningChanges: 100 },
    });
    const put = await stack.cli('policy', 'put', file);
    expect(put.code, put.stderr).toBe(0);
  });

  afterAll(async () => {
    await stack?.close();
  });

  /** The ledger entry onboarding writes when it creates a user (activity is recorded only for known users). */
  async function rememberAsOnboarded(id: string): Promise<void> {
    const described = await stack.runtime.chimeUsers.describe(`${arn}/user/${id}`);
    if (!described) throw new Error(`${id} is not in the emulator`);
    await stack.runtime.ledger.putMany(TENANT, [
      {
        appInstanceUserId: id,
        createdAt: described.createdAt,
        expirationDays: described.expirationDays ?? null,
        verifiedAt: stack.emulator.now().getTime(),
      },
    ]);
  }

  it('activity rejects a file with invalid lines by number, recording nothing', async () => {
    const file = await stack.write(
      'bad.jsonl',
      `${JSON.stringify({ tenantId: TENANT, appInstanceUserId: 'active-1', at: Date.now() })}\nnot json\n${JSON.stringify({ tenantId: TENANT, appInstanceUserId: 'active-1', at: 'yesterday', name: 'x' })}\n`,
    );
    const result = await stack.cli('activity', '--file', file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('2 invalid line(s), nothing recorded');
    expect(result.stderr).toContain('line 2: not valid JSON');
    expect(result.stderr).toMatch(/line 3: .*unknown key\(s\) "name"/);
    expect((await stack.runtime.activity.lastActiveMany(TENANT, ['active-1'])).size).toBe(0);
  });

  it('activity refuses, naming each line, an event from the future, an unknown tenant, a tenant without renewal and a user its ledger does not know; records nothing', async () => {
    const other = seedTenant(stack.emulator, [{ appInstanceUserId: 'plain-1', ageMs: DAY_MS }], 'plain');
    const put = await stack.cli(
      'policy',
      'put',
      await stack.write('plain.json', {
        tenantId: 'plain',
        appInstanceArn: other,
        rules: [],
        default: { expiration: { days: 90 } },
      }),
    );
    expect(put.code, put.stderr).toBe(0);
    await rememberAsOnboarded('active-1');
    const now = Date.now();
    const lines = [
      { tenantId: TENANT, appInstanceUserId: 'active-1', at: now - 1_000 },
      { tenantId: TENANT, appInstanceUserId: 'active-1', at: '2100-01-01T00:00:00Z' },
      { tenantId: 'nobody', appInstanceUserId: 'active-1', at: now - 1_000 },
      { tenantId: 'plain', appInstanceUserId: 'plain-1', at: now - 1_000 },
      // plain's user, named under this tenant: not in this tenant's AppInstance (nor its ledger).
      { tenantId: TENANT, appInstanceUserId: 'plain-1', at: now - 1_000 },
      // In the AppInstance, but neither synced nor onboarded yet.
      { tenantId: TENANT, appInstanceUserId: 'idle-1', at: now - 1_000 },
    ];
    const file = await stack.write(
      'refused.jsonl',
      `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`,
    );
    const result = await stack.cli('activity', '--file', file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('5 line(s) refused, nothing recorded');
    expect(result.stderr).toMatch(
      /line 2: activity-in-future: at 2100-01-01T00:00:00.000Z is \d+ days ahead of the clock/,
    );
    expect(result.stderr).toContain('line 3: tenant-not-found: no policy is stored for tenant nobody');
    expect(result.stderr).toContain(
      'line 4: tenant-without-renewal: the policy of tenant plain has no inactiveDays',
    );
    expect(result.stderr).toContain(
      `line 5: user-not-in-tenant: appInstanceUserId is not a user of tenant ${TENANT}`,
    );
    expect(result.stderr).toContain('line 6: user-not-in-tenant');
    expect(result.stderr).not.toContain('line 1:');
    const recorded = await stack.runtime.activity.lastActiveMany(TENANT, ['active-1', 'plain-1', 'idle-1']);
    expect(recorded.size).toBe(0);
    expect((await stack.runtime.activity.lastActiveMany('plain', ['plain-1'])).size).toBe(0);
  });

  it('activity records the latest event per user, once, only ever forward', async () => {
    const now = stack.emulator.now().getTime();
    const lines = [now - 3_000, now - 1_000, now - 2_000].map((at) =>
      JSON.stringify({ tenantId: TENANT, appInstanceUserId: 'active-1', at: new Date(at).toISOString() }),
    );
    const file = await stack.write('events.jsonl', `${lines.join('\n')}\n`);
    const result = await stack.cli('activity', '--file', file, '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ events: 3, updates: 1, advanced: 1, stale: 0 });
    const older = await stack.write(
      'older.jsonl',
      JSON.stringify({ tenantId: TENANT, appInstanceUserId: 'active-1', at: now - 60_000 }),
    );
    expect(JSON.parse((await stack.cli('activity', '--file', older, '--json')).stdout)).toEqual({
      events: 1,
      updates: 1,
      advanced: 0,
      stale: 1,
    });
    expect((await stack.runtime.activity.lastActiveMany(TENANT, ['active-1'])).get('active-1')).toBe(
      now - 1_000,
    );
  });

  it('plan renews the active user from its activity and leaves the idle one to expire', async () => {
    const result = await stack.cli('plan', '--tenant', TENANT, '--format', 'json');
    expect(result.code, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout) as {
      changes: { appInstanceUserId: string; desiredDays: number }[];
    };
    const byUser = new Map(plan.changes.map((change) => [change.appInstanceUserId, change]));
    // active-1: created 20 days ago with 30 days, so 10 left (< 15): renewed to its last activity + 30 days,
    // counted from creation (50 days, or 51 when the seconds between seeding and the activity round it up).
    const created = (await stack.runtime.chimeUsers.describe(`${arn}/user/active-1`))?.createdAt ?? 0;
    const lastActive =
      (await stack.runtime.activity.lastActiveMany(TENANT, ['active-1'])).get('active-1') ?? 0;
    expect(byUser.get('active-1')?.desiredDays).toBe(renewalDays(created, lastActive, 30));
    expect([50, 51]).toContain(byUser.get('active-1')?.desiredDays);
    expect(byUser.has('idle-1')).toBe(false);
  });

  it('expiring lists, from the ledger after a sync, the users within the window and the warnings sent', async () => {
    const published: LifecycleEvent[] = [];
    const [run] = await syncInProcess([TENANT], (queue) => ({
      ...stack.runtime.reconcileDeps({
        queue,
        now: () => stack.emulator.now().getTime(),
      }),
      events: {
        publish: async (events) => {
          published.push(...events);
        },
      },
    }));
    expect(run?.run?.state).toBe('completed');
    expect(
      published
        .filter((event) => event.type === 'User Expiring Soon')
        .map((event) => [event.detail.appInstanceUserId, event.detail.horizonDays]),
    ).toEqual([['idle-1', 30]]);
    const result = await stack.cli('expiring', '--tenant', TENANT, '--within', '15d', '--json');
    expect(result.code, result.stderr).toBe(0);
    const listing = JSON.parse(result.stdout) as {
      users: { appInstanceUserId: string; horizonDays: number | null; warned: number[] }[];
    };
    expect(listing.users).toEqual([
      expect.objectContaining({ appInstanceUserId: 'idle-1', horizonDays: 30, warned: [30] }),
    ]);
    const text = await stack.cli('expiring', '--tenant', TENANT, '--within', '15d');
    expect(text.stdout).toContain('idle-1');
    expect(text.stdout).toContain('1 user(s) of renew expire within 15d');
    const bad = await stack.cli('expiring', '--tenant', TENANT, '--within', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--within: must be a positive duration such as 7d, 36h or 90m, got "soon"');
  });
});
