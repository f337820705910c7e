import { CreateAppInstanceAdminCommand } from '@aws-sdk/client-chime-sdk-identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalEventBridge, startLocalEventBridge } from '../../../local/eventbridge-server';
import { storePolicyDocument } from '../../../shared/aws/policy-store';
import type { Runtime } from '../../../shared/composition-root';
import { onboardRequest } from '../../../shared/onboarding/onboard-request';
import { cachedTenantPolicies } from '../../../shared/onboarding/policy-cache';
import { planTenant } from '../../../shared/sync/plan';
import { syncInProcess } from '../../../shared/sync/pull-mode';
import { type ChimeEmulator, days, seedTenant, startTestEmulator } from '../../support/chime';
import { testRuntime } from '../../support/stack';

const QUOTA_SCALE = 50;

/** A catch-all policy: every user, admins included, would get 30 days. */
function catchAll(tenantId: string, arn: string, extra: Record<string, unknown> = {}) {
  return {
    tenantId,
    appInstanceArn: arn,
    rules: [{ id: 'everyone', priority: 10, match: {}, expiration: { days: 30 } }],
    safety: { minRemainingDays: 1, maxShorteningChanges: 1000, maxShorteningPercent: 100 },
    ...extra,
  };
}

describe('AppInstanceAdmins are protected by default (emulator and DynamoDB Local)', () => {
  let emulator: ChimeEmulator;
  let eventBridge: LocalEventBridge;
  let runtime: Runtime;

  beforeAll(async () => {
    emulator = await startTestEmulator(QUOTA_SCALE);
    eventBridge = await startLocalEventBridge();
    runtime = await testRuntime({
      config: { quotaScale: QUOTA_SCALE, eventBus: 'default' },
      runtime: { endpoints: { chime: emulator.url, eventbridge: eventBridge.url } },
    });
  });

  afterAll(async () => {
    runtime?.destroy();
    await eventBridge?.close();
    await emulator?.close();
  });

  const sync = (tenantId: string) =>
    syncInProcess([tenantId], (queue) =>
      runtime.reconcileDeps({ queue, now: () => emulator.now().getTime() }),
    );
  const expirationOf = async (arn: string, id: string) =>
    (await runtime.chimeUsers.describe(runtime.chimeUsers.userArn(arn, id)))?.expirationDays;
  const promote = (arn: string, id: string) =>
    runtime.chime.send(
      new CreateAppInstanceAdminCommand({
        AppInstanceArn: arn,
        AppInstanceAdminArn: runtime.chimeUsers.userArn(arn, id),
      }),
    );

  it('an admin under a catch-all policy is left untouched by plan, sync and onboarding convergence', async () => {
    // 60 plain users so the admin list is one call next to two user pages.
    const users = Array.from({ length: 60 }, (_, index) => ({
      appInstanceUserId: `user-${String(index).padStart(2, '0')}`,
      ageMs: days(2),
    }));
    const arn = seedTenant(emulator, [...users, { appInstanceUserId: 'admin', ageMs: days(400) }], 'prot');
    await promote(arn, 'admin');
    await storePolicyDocument(runtime.policyStore, catchAll('prot', arn));
    const now = emulator.now().getTime();

    const stored = await runtime.policyStore.get('prot');
    const plan = await planTenant(stored?.policy ?? (undefined as never), runtime.chimeUserPort, now);
    expect(plan.changes.map((change) => change.appInstanceUserId)).not.toContain('admin');
    expect(plan.changes).toHaveLength(60);
    expect(plan.summary.protected).toBe(1);
    expect(plan.protected).toEqual([
      {
        appInstanceUserId: 'admin',
        appInstanceUserArn: runtime.chimeUsers.userArn(arn, 'admin'),
        reason: expect.stringContaining('AppInstanceAdmin'),
      },
    ]);

    const [run] = await sync('prot');
    expect(run?.run?.state).toBe('completed');
    expect(run?.run?.counters).toMatchObject({ scanned: 61, protected: 1, set: 60 });
    expect(await expirationOf(arn, 'admin')).toBeUndefined();
    expect(await expirationOf(arn, 'user-00')).toBe(30);

    // Steady state: two user pages and one admin list, nothing else.
    const [second] = await sync('prot');
    expect(second?.run?.counters).toMatchObject({ set: 0, described: 0, protected: 1, chimeCalls: 3 });

    // Onboarding a request for the admin (a new name: it exists, so it is converged) writes no expiration.
    const outcome = await onboardRequest(
      { tenantId: 'prot', appInstanceUserId: 'admin', name: 'Renamed admin' },
      'token-admin-1',
      {
        policies: cachedTenantPolicies(runtime.policyStore, 0, () => now),
        users: runtime.chimeUserPort,
        ledger: runtime.ledger,
        events: runtime.events,
        now: () => emulator.now().getTime(),
      },
    );
    expect(outcome).toMatchObject({ result: 'converged', changed: ['name'], expirationDays: null });
    expect(await expirationOf(arn, 'admin')).toBeUndefined();
  });

  it('with "protectAdmins": false an admin is governed like anyone, and no admin list is made', async () => {
    const arn = seedTenant(emulator, [{ appInstanceUserId: 'boss', ageMs: days(3) }], 'unprot');
    await promote(arn, 'boss');
    await storePolicyDocument(runtime.policyStore, catchAll('unprot', arn, { protectAdmins: false }));
    const listsBefore = emulator.stats().calls.ListAppInstanceAdmins ?? 0;
    const [run] = await sync('unprot');
    expect(run?.run?.counters).toMatchObject({ protected: 0, set: 1 });
    expect(await expirationOf(arn, 'boss')).toBe(30);
    expect(emulator.stats().calls.ListAppInstanceAdmins ?? 0).toBe(listsBefore);
  });
});
