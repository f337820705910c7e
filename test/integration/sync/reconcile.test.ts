import { DeleteAppInstanceUserCommand } from '@aws-sdk/client-chime-sdk-identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalEventBridge, startLocalEventBridge } from '../../../local/eventbridge-server';
import { storePolicyDocument } from '../../../shared/aws/policy-store';
import type { Runtime } from '../../../shared/composition-root';
import type { Policy } from '../../../shared/policy';
import { syncInProcess } from '../../../shared/sync/pull-mode';
import { policyDocument } from '../../fixtures/policies';
import {
  type ChimeEmulator,
  days,
  hours,
  type SeedUser,
  seedTenant,
  startTestEmulator,
} from '../../support/chime';
import { testRuntime } from '../../support/stack';

const QUOTA_SCALE = 50;

/** The mixed population every tenant gets: one of each situation the sync must handle. */
function mixedUsers(): SeedUser[] {
  return [
    // new guests, never synced, no expiration (legacy): the policy adds 7 days
    { appInstanceUserId: 'guest-new-1', ageMs: days(1) },
    { appInstanceUserId: 'guest-new-2', ageMs: hours(3) },
    // drifted: someone set 90 days on a guest
    { appInstanceUserId: 'guest-drifted', ageMs: days(2), expirationDays: 90 },
    // inside the floor: 7 days would expire it in 12 h, under the 1-day floor; raised to 8 days
    { appInstanceUserId: 'guest-floor', ageMs: days(6.5) },
    // already inside the floor window (expires in 12 h): kept as is, never moved
    { appInstanceUserId: 'guest-window', ageMs: days(9.5), expirationDays: 10 },
    // trial by metadata, legacy without expiration
    { appInstanceUserId: 'user-trial', ageMs: days(1), metadata: JSON.stringify({ plan: 'trial' }) },
    // staff with an expiration: "never" removes it
    { appInstanceUserId: 'emp-100', ageMs: days(100), expirationDays: 200 },
    // service user: unmanaged, must be left alone
    { appInstanceUserId: 'svc-bot', ageMs: days(50), expirationDays: 60 },
    // expired two hours ago but not yet deleted by Chime: the default (365 days) rescues it
    { appInstanceUserId: 'user-expired', ageMs: days(30) + hours(2), expirationDays: 30 },
    // already compliant with the default
    { appInstanceUserId: 'user-ok', ageMs: days(10), expirationDays: 365 },
  ];
}

const generousSafety = { minRemainingDays: 1, maxShorteningChanges: 10_000, maxShorteningPercent: 100 };

describe('scheduled policy sync (pull mode) against the emulator and DynamoDB Local', () => {
  let emulator: ChimeEmulator;
  let eventBridge: LocalEventBridge;
  let runtime: Runtime;
  const tenants = ['alpha', 'beta', 'gamma'];
  const policies = new Map<string, Policy>();

  const sync = (
    tenantIds: readonly string[],
    settings: { maxPagesPerInvocation?: number; approveShortening?: boolean } = {},
  ) =>
    syncInProcess(
      tenantIds,
      (queue) => ({
        ...runtime.reconcileDeps({ queue, now: () => emulator.now().getTime() }),
        settings: {
          ...runtime.reconcileDeps().settings,
          ...(settings.maxPagesPerInvocation
            ? { maxPagesPerInvocation: settings.maxPagesPerInvocation }
            : {}),
        },
      }),
      settings.approveShortening ? { approveShortening: true } : {},
    );

  async function putPolicy(
    tenantId: string,
    arn: string,
    overrides: Record<string, unknown> = {},
  ): Promise<Policy> {
    const document = policyDocument(tenantId, arn, { safety: generousSafety, ...overrides });
    const stored = await storePolicyDocument(runtime.policyStore, document);
    policies.set(tenantId, stored.policy);
    return stored.policy;
  }

  /**
   * Every user of the tenant, re-read from Chime, has the ExpirationDays worked out by hand from the policy
   * (an independent oracle: the engine's own `decide` is never asked).
   */
  async function expectCompliant(
    tenantId: string,
    expected: (appInstanceUserId: string) => number | undefined,
  ): Promise<number> {
    const source = policies.get(tenantId) as Policy;
    let checked = 0;
    for await (const page of runtime.chimeUsers.listPages(source.appInstanceArn, {})) {
      for (const user of page.users) {
        const current = await runtime.chimeUsers.describe(user.arn);
        if (!current) continue;
        expect({ user: user.appInstanceUserId, days: current.expirationDays }).toEqual({
          user: user.appInstanceUserId,
          days: expected(user.appInstanceUserId),
        });
        checked++;
      }
    }
    return checked;
  }

  /** The mixed population under the example policy (guests 7, trial 30, staff never, service unmanaged). */
  const MIXED_EXPECTED: Readonly<Record<string, number | undefined>> = {
    'guest-new-1': 7,
    'guest-new-2': 7,
    'guest-drifted': 7,
    // 7 days would leave 12 h, under the 1-day floor: 8
    'guest-floor': 8,
    // already inside the floor window: kept
    'guest-window': 10,
    'user-trial': 30,
    'emp-100': undefined,
    // unmanaged: left as seeded
    'svc-bot': 60,
    // rescued by the default
    'user-expired': 365,
    'user-ok': 365,
  };
  const mixedExpected = (id: string) => {
    if (!(id in MIXED_EXPECTED)) throw new Error(`no expectation for ${id}`);
    return MIXED_EXPECTED[id];
  };

  const puts = () => emulator.stats().calls.PutAppInstanceUserExpirationSettings ?? 0;
  const describes = () => emulator.stats().calls.DescribeAppInstanceUser ?? 0;

  beforeAll(async () => {
    emulator = await startTestEmulator(QUOTA_SCALE);
    eventBridge = await startLocalEventBridge();
    runtime = await testRuntime({
      config: { quotaScale: QUOTA_SCALE, eventBus: 'default' },
      runtime: { endpoints: { chime: emulator.url, eventbridge: eventBridge.url } },
    });
    for (const tenantId of tenants) {
      const arn = seedTenant(emulator, mixedUsers(), tenantId);
      await putPolicy(tenantId, arn);
    }
  });

  afterAll(async () => {
    runtime?.destroy();
    await eventBridge?.close();
    await emulator?.close();
  });

  it('makes every managed user of 3 tenants compliant in one sync, then writes nothing on the second', async () => {
    const first = await sync(tenants);
    for (const result of first) {
      expect(result.run?.state, result.tenantId).toBe('completed');
      const counters = result.run?.counters;
      expect(counters).toMatchObject({
        scanned: 10,
        unmanaged: 1,
        rescued: 1,
        gone: 0,
      });
      // guest-new-1, guest-new-2, guest-floor, user-trial get an expiration (shortening from none),
      // guest-drifted 90 -> 7 shortens too; emp-100 loses its expiration; user-expired is rescued.
      expect(counters?.shortening).toBe(5);
      expect(counters?.shorteningApplied).toBe(5);
      expect(counters?.removed).toBe(1);
      expect((counters?.set ?? 0) + (counters?.removed ?? 0)).toBe(7);
    }
    for (const tenantId of tenants) expect(await expectCompliant(tenantId, mixedExpected)).toBe(10);

    const arn = policies.get('alpha')?.appInstanceArn as string;
    const floor = await runtime.chimeUsers.describe(runtime.chimeUsers.userArn(arn, 'guest-floor'));
    expect(floor?.expirationDays).toBe(8);
    const window = await runtime.chimeUsers.describe(runtime.chimeUsers.userArn(arn, 'guest-window'));
    expect(window?.expirationDays).toBe(10);
    const service = await runtime.chimeUsers.describe(runtime.chimeUsers.userArn(arn, 'svc-bot'));
    expect(service?.expirationDays).toBe(60);
    const staff = await runtime.chimeUsers.describe(runtime.chimeUsers.userArn(arn, 'emp-100'));
    expect(staff?.expirationDays).toBeUndefined();

    const rescued = eventBridge.events.filter((event) => event.detailType === 'User Rescued');
    expect(rescued).toHaveLength(3);
    expect(JSON.stringify(rescued)).not.toMatch(/User user-expired/);
    expect(eventBridge.events.filter((event) => event.detailType === 'Tenant Run Completed')).toHaveLength(3);

    const putsBefore = puts();
    const describesBefore = describes();
    const second = await sync(tenants);
    for (const result of second) {
      expect(result.run?.state).toBe('completed');
      expect(result.run?.counters).toMatchObject({
        scanned: 10,
        set: 0,
        removed: 0,
        shortening: 0,
        described: 0,
      });
      // steady state: one list page and one admin list per tenant, nothing else
      expect(result.run?.counters.chimeCalls).toBe(2);
    }
    expect(puts()).toBe(putsBefore);
    expect(describes()).toBe(describesBefore);
  });

  it('marks users the ledger knows but Chime no longer has as gone, once unseen for the refresh window', async () => {
    const arn = seedTenant(
      emulator,
      Array.from({ length: 4 }, (_, index) => ({
        appInstanceUserId: `user-g${index}`,
        ageMs: days(3),
        expirationDays: 365,
      })),
      'delta',
    );
    await putPolicy('delta', arn);
    expect((await sync(['delta']))[0]?.run?.counters.scanned).toBe(4);
    await runtime.chime.send(
      new DeleteAppInstanceUserCommand({ AppInstanceUserArn: runtime.chimeUsers.userArn(arn, 'user-g0') }),
    );
    // Within the refresh window the ledger was not rewritten, so absence cannot be told from "seen earlier".
    const [soon] = await sync(['delta']);
    expect(soon?.run?.counters).toMatchObject({ scanned: 3, gone: 0 });
    emulator.advanceClock(25 * 3600);
    const [later] = await sync(['delta']);
    expect(later?.run?.counters).toMatchObject({ scanned: 3, gone: 1 });
    const entries = [];
    for await (const entry of runtime.ledger.all('delta')) entries.push(entry);
    expect(entries.find((entry) => entry.appInstanceUserId === 'user-g0')?.goneAt).toBeTypeOf('number');
    expect(entries.filter((entry) => entry.goneAt !== undefined)).toHaveLength(1);
    // gone once is reported once
    const [again] = await sync(['delta']);
    expect(again?.run?.counters.gone).toBe(0);
  });

  it('reconciles a large tenant across several continuation invocations and ends compliant', async () => {
    const users: SeedUser[] = Array.from({ length: 130 }, (_, index) => ({
      appInstanceUserId: `guest-${String(index).padStart(4, '0')}`,
      ageMs: days(1),
      ...(index % 3 === 0 ? { expirationDays: 30 } : {}),
    }));
    const arn = seedTenant(emulator, users, 'large');
    await putPolicy('large', arn);
    const [result] = await sync(['large'], { maxPagesPerInvocation: 1 });
    expect(result?.run?.state).toBe('completed');
    // 130 users = 3 pages of at most 50, one page per invocation, then the apply phase
    expect(result?.invocations).toBeGreaterThanOrEqual(3);
    expect(result?.run?.counters.scanned).toBe(130);
    expect(result?.run?.counters.pages).toBe(3);
    expect(result?.run?.step).toBeGreaterThanOrEqual(3);
    expect(await expectCompliant('large', () => 7)).toBe(130);
  });

  it('holds shortening changes above the safety caps, applies the rest, and applies the held ones on approval', async () => {
    const users: SeedUser[] = [
      ...Array.from({ length: 6 }, (_, index) => ({ appInstanceUserId: `guest-h${index}`, ageMs: days(1) })),
      { appInstanceUserId: 'emp-7', ageMs: days(3), expirationDays: 100 },
      { appInstanceUserId: 'user-long', ageMs: days(3), expirationDays: 100 },
    ];
    const arn = seedTenant(emulator, users, 'careful');
    await putPolicy('careful', arn, {
      safety: { minRemainingDays: 1, maxShorteningChanges: 2, maxShorteningPercent: 100 },
    });
    const [held] = await sync(['careful']);
    expect(held?.run?.state).toBe('held');
    expect(held?.run?.reason).toMatch(/maxShorteningChanges 2/);
    expect(held?.run?.counters).toMatchObject({ shortening: 6, held: 6, shorteningApplied: 0 });
    // non-shortening changes went through: emp-7 lost its expiration, user-long got 365 (longer)
    expect(held?.run?.counters.removed).toBe(1);
    const staff = await runtime.chimeUsers.describe(runtime.chimeUsers.userArn(arn, 'emp-7'));
    expect(staff?.expirationDays).toBeUndefined();
    const guest = await runtime.chimeUsers.describe(runtime.chimeUsers.userArn(arn, 'guest-h0'));
    expect(guest?.expirationDays).toBeUndefined();
    expect(eventBridge.events.some((event) => event.detailType === 'Tenant Run Held')).toBe(true);

    const [approved] = await sync(['careful'], { approveShortening: true });
    expect(approved?.run?.state).toBe('completed');
    expect(approved?.run?.counters.shorteningApplied).toBe(6);
    expect(
      await expectCompliant('careful', (id) => (id === 'emp-7' ? undefined : id === 'user-long' ? 365 : 7)),
    ).toBe(8);
  });

  it('writes shortening changes as it finds them when the caps can never hold the run', async () => {
    const users: SeedUser[] = Array.from({ length: 60 }, (_, index) => ({
      appInstanceUserId: `guest-i${index}`,
      ageMs: days(1),
    }));
    const arn = seedTenant(emulator, users, 'unguarded');
    await putPolicy('unguarded', arn, {
      safety: { minRemainingDays: 1, maxShorteningChanges: 100_000, maxShorteningPercent: 100 },
    });
    const [result] = await sync(['unguarded'], { maxPagesPerInvocation: 1 });
    expect(result?.run?.state).toBe('completed');
    expect(result?.run?.phase).toBe('scan');
    expect(result?.run?.counters).toMatchObject({
      scanned: 60,
      shortening: 60,
      shorteningApplied: 60,
      held: 0,
    });
    const pending = [];
    for await (const item of runtime.runs.pending('unguarded')) pending.push(item);
    expect(pending).toEqual([]);
    expect(await expectCompliant('unguarded', () => 7)).toBe(60);
  });

  it('refuses to start a run while another run of the tenant holds the lease', async () => {
    const acquired = await runtime.runs.acquireLease(
      'gamma',
      'someone-else',
      emulator.now().getTime(),
      60_000,
    );
    expect(acquired.acquired).toBe(true);
    const [result] = await sync(['gamma']);
    expect(result?.run).toBeNull();
    expect(result?.skipped).toMatch(/someone-else is still going/);
    await runtime.runs.releaseLease('gamma', 'someone-else');
    const [after] = await sync(['gamma']);
    expect(after?.run?.state).toBe('completed');
  });
});
