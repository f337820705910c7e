import { DeleteAppInstanceUserCommand } from '@aws-sdk/client-chime-sdk-identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChimeEmulator, startChimeEmulator } from '../../../emulator';
import userRemoved from '../../../functions/user-removed/function';
import {
  type LocalEventBridge,
  type ReceivedEvent,
  startLocalEventBridge,
} from '../../../local/eventbridge-server';
import { storePolicyDocument } from '../../../shared/aws/policy-store';
import type { Runtime } from '../../../shared/composition-root';
import { DAY_MS } from '../../../shared/policy';
import { syncInProcess } from '../../../shared/sync/pull-mode';
import { chimeRemovalEventSchema, onUserRemoved } from '../../../shared/sync/user-removed';
import { seedTenant } from '../../support/chime';
import { testRuntime } from '../../support/stack';

const QUOTA_SCALE = 50;
const TENANT = 'clock';
const N = 30;

/**
 * Issue 12's loop, end to end on real servers: the emulator's clock runs through 40 days with one sync a day
 * (pull mode, DynamoDB Local, the local EventBridge). The emulator's deletions reach user-removed the way
 * CloudTrail → EventBridge would (the emulator publishes CloudTrail-shaped events to the local EventBridge,
 * whose rule, the pattern of functions/user-removed/function.ts, invokes the use case).
 */
describe('warnings, renewal and Chime deletions over 40 simulated days', () => {
  let emulator: ChimeEmulator;
  let eventBridge: LocalEventBridge;
  let runtime: Runtime;
  let t0: number;
  const removals: string[] = [];

  const published = (type: string): ReceivedEvent[] =>
    eventBridge.events.filter((event) => event.source === 'chime-lifecycle' && event.detailType === type);
  const detailOf = (event: ReceivedEvent) => event.detail as Record<string, unknown>;

  const sync = () =>
    syncInProcess([TENANT], (queue) => runtime.reconcileDeps({ queue, now: () => emulator.now().getTime() }));

  beforeAll(async () => {
    eventBridge = await startLocalEventBridge();
    // Chime deletes an expired user within hours; one hour here, so day 40 finds the leaver due.
    emulator = await startChimeEmulator({
      port: 0,
      quotaScale: QUOTA_SCALE,
      expiryDelaySeconds: 3_600,
      cloudTrailEvents: eventBridge.url,
    });
    runtime = await testRuntime({
      config: { quotaScale: QUOTA_SCALE, eventBus: 'default' },
      runtime: { endpoints: { chime: emulator.url, eventbridge: eventBridge.url } },
    });
    const deps = runtime.userRemovedDeps({
      log: { info: () => {}, warn: () => {}, error: () => {} },
      now: () => emulator.now().getTime(),
    });
    eventBridge.addRule({
      name: 'ChimeUserRemoved',
      pattern: userRemoved.trigger.pattern,
      target: async (event) => {
        removals.push(String((event.detail as { eventName: string }).eventName));
        await onUserRemoved(chimeRemovalEventSchema.parse(event), deps);
      },
    });
    const arn = seedTenant(
      emulator,
      [
        { appInstanceUserId: 'leaver', ageMs: 3_600_000 },
        { appInstanceUserId: 'active-1', ageMs: 3_600_000 },
        { appInstanceUserId: 'doomed', ageMs: 3_600_000 },
      ],
      TENANT,
    );
    t0 = emulator.now().getTime();
    await storePolicyDocument(runtime.policyStore, {
      tenantId: TENANT,
      appInstanceArn: arn,
      rules: [
        { id: 'active', priority: 1, match: { userIdPrefix: 'active-' }, expiration: { inactiveDays: N } },
      ],
      default: { expiration: { days: 40 } },
      notify: { horizons: [30, 7, 1] },
      safety: { minRemainingDays: 1, maxShorteningChanges: 100, maxShorteningPercent: 100 },
    });
  }, 60_000);

  afterAll(async () => {
    runtime?.destroy();
    await emulator?.close();
    await eventBridge?.close();
  });

  /** Day 20: someone deletes a user; the API call's CloudTrail event marks it gone as "User Deleted". */
  async function deleteDoomed(): Promise<void> {
    const appInstanceArn = (await runtime.policyStore.get(TENANT))?.policy.appInstanceArn;
    await runtime.chime.send(
      new DeleteAppInstanceUserCommand({ AppInstanceUserArn: `${appInstanceArn}/user/doomed` }),
    );
    const started = performance.now();
    while (published('User Deleted').length === 0 && performance.now() - started < 5_000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await eventBridge.idle();
    }
    expect(published('User Deleted').map(detailOf)).toEqual([
      expect.objectContaining({ appInstanceUserId: 'doomed', reason: 'deleted', ledgerMarked: true }),
    ]);
    expect((await runtime.ledger.getMany(TENANT, ['doomed'])).get('doomed')?.goneReason).toBe('deleted');
  }

  it('warns at 30, 7 and 1 days once each, renews the active user, and marks the swept user gone at once', async () => {
    const putsBefore = emulator.stats().calls.PutAppInstanceUserExpirationSettings ?? 0;
    const warningDays: [number, number][] = [];
    let runs = 0;
    for (let day = 0; day <= 39; day++) {
      if (day > 0) emulator.advanceClock(DAY_MS / 1000);
      await runtime.activity.record({
        tenantId: TENANT,
        appInstanceUserId: 'active-1',
        at: emulator.now().getTime(),
      });
      const before = published('User Expiring Soon').length;
      const [result] = await sync();
      expect(result?.run?.state, `day ${day}`).toBe('completed');
      runs++;
      for (const event of published('User Expiring Soon').slice(before)) {
        const detail = detailOf(event);
        if (detail.appInstanceUserId === 'leaver') warningDays.push([day, Number(detail.horizonDays)]);
      }
      if (day === 20) await deleteDoomed();
    }
    // The leaver, 1 h old on day 0, expires at day 40 − 1 h: 30 days away on day 10, 7 on day 33, 1 on day 39.
    expect(warningDays).toEqual([
      [10, 30],
      [33, 7],
      [39, 1],
    ]);
    const leaverCreatedAt = (await runtime.ledger.getMany(TENANT, ['leaver'])).get('leaver')?.createdAt ?? 0;
    expect(Math.abs(leaverCreatedAt - (t0 - 3_600_000))).toBeLessThan(1_000);
    const leaverWarning = published('User Expiring Soon').find(
      (event) => detailOf(event).appInstanceUserId === 'leaver',
    );
    expect(detailOf(leaverWarning as ReceivedEvent)).toMatchObject({
      tenantId: TENANT,
      expiresAt: new Date(leaverCreatedAt + 40 * DAY_MS).toISOString(),
      ruleId: null,
    });
    // One digest per run, counting the users within each horizon.
    const digests = published('Tenant Expiry Digest');
    expect(digests).toHaveLength(runs);
    // Day 39: the leaver within every horizon, the active user within 30 days (expiry created + 63 d), and
    // the deleted user no longer counted.
    expect(detailOf(digests.at(-1) as ReceivedEvent)).toMatchObject({
      horizons: [
        { days: 30, users: 2 },
        { days: 7, users: 1 },
        { days: 1, users: 1 },
      ],
      userIds: ['leaver', 'active-1'],
      truncated: false,
    });

    // Renewal: active daily, 30 inactive days, created 1 h before day 0. Day 0 sets created + 31 d (its first
    // activity is 1 h after creation, rounded up to whole days): expiry at day 31 − 1 h. It is less than 15 days
    // away from day 16 on, so day 16 renews to created + 47 d, and day 32 to created + 63 d. Three writes in 40
    // days, within the bound 1 + 40 / (N/2).
    const activeEntry = (await runtime.ledger.getMany(TENANT, ['active-1'])).get('active-1');
    expect(activeEntry?.expirationDays).toBe(63);
    const puts = (emulator.stats().calls.PutAppInstanceUserExpirationSettings ?? 0) - putsBefore;
    // leaver and doomed: one write each on day 0.
    expect(puts - 2).toBe(3);
    expect(puts - 2).toBeLessThanOrEqual(1 + 40 / (N / 2));

    // Day 40: the leaver's expiry (and Chime's delay) has passed. The clock move runs the sweep; its CloudTrail
    // event reaches the rule, and the ledger says gone, with the reason, before any sync runs.
    emulator.advanceClock(DAY_MS / 1000);
    const started = performance.now();
    let leaver = (await runtime.ledger.getMany(TENANT, ['leaver'])).get('leaver');
    while (leaver?.goneAt === undefined && performance.now() - started < 5_000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      leaver = (await runtime.ledger.getMany(TENANT, ['leaver'])).get('leaver');
    }
    expect(leaver?.goneReason).toBe('expired');
    expect(performance.now() - started).toBeLessThan(5_000);
    await eventBridge.idle();
    expect(published('User Expired').map(detailOf)).toEqual([
      expect.objectContaining({
        tenantId: TENANT,
        appInstanceUserId: 'leaver',
        reason: 'expired',
        ledgerMarked: true,
      }),
    ]);

    expect(removals).toEqual(['DeleteAppInstanceUser', 'ExpireAppInstanceUser']);

    // The active user never expired: still there, with more than N/2 days left.
    await runtime.activity.record({
      tenantId: TENANT,
      appInstanceUserId: 'active-1',
      at: emulator.now().getTime(),
    });
    const [last] = await sync();
    expect(last?.run?.state).toBe('completed');
    const described = await runtime.chimeUsers.describe(
      `${(await runtime.policyStore.get(TENANT))?.policy.appInstanceArn}/user/active-1`,
    );
    expect(described).not.toBeNull();
    expect(
      (described?.createdAt ?? 0) + (described?.expirationDays ?? 0) * DAY_MS - emulator.now().getTime(),
    ).toBeGreaterThan((N / 2) * DAY_MS);
  }, 240_000);
});
