import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppInstanceClaimedError,
  AppInstanceMoveError,
  PolicyChangedError,
} from '../../../shared/aws/policy-store';
import { ensureTables } from '../../../shared/aws/tables';
import type { Runtime } from '../../../shared/composition-root';
import { type Policy, parsePolicy } from '../../../shared/policy';
import { appInstanceArn, policyDocument } from '../../fixtures/policies';
import { testRuntime } from '../../support/stack';

function validated(document: Record<string, unknown>): Policy {
  const parsed = parsePolicy(document);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.policy;
}

describe('PolicyStore on DynamoDB Local', () => {
  let runtime: Runtime;
  beforeAll(async () => {
    runtime = await testRuntime();
  });
  afterAll(() => runtime.destroy());

  it('creates tables idempotently', async () => {
    const again = await ensureTables(runtime.dynamo, runtime.config);
    expect(again.map((table) => table.created)).toEqual([false, false, false]);
  });

  it('stores version 1, then version 2 conditional on the version read, and keeps history', async () => {
    const store = runtime.policyStore;
    const arn = appInstanceArn('history-1');
    const first = policyDocument('history', arn);
    const v1 = await store.put(validated(first), first, null);
    expect(v1.version).toBe(1);
    const second = policyDocument('history', arn, { enabled: false });
    const v2 = await store.put(validated(second), second, { version: 1, appInstanceArn: arn });
    expect(v2.version).toBe(2);

    const current = await store.get('history');
    expect(current?.version).toBe(2);
    expect(current?.policy.enabled).toBe(false);
    expect(current?.document).toEqual(second);

    const history = await store.history('history');
    expect(history.map((stored) => stored.version)).toEqual([2, 1]);
    expect(history[1]?.document).toEqual(first);
  });

  it('refuses a write based on a stale version', async () => {
    const store = runtime.policyStore;
    const arn = appInstanceArn('stale-1');
    const document = policyDocument('stale', arn);
    await store.put(validated(document), document, null);
    await store.put(validated(document), document, { version: 1, appInstanceArn: arn });
    await expect(
      store.put(validated(document), document, { version: 1, appInstanceArn: arn }),
    ).rejects.toBeInstanceOf(PolicyChangedError);
    await expect(store.put(validated(document), document, null)).rejects.toThrow(/changed since you read it/);
    expect((await store.get('stale'))?.version).toBe(2);
  });

  it('lets exactly one of two concurrent writers win', async () => {
    const store = runtime.policyStore;
    const arn = appInstanceArn('race-1');
    const document = policyDocument('race', arn);
    await store.put(validated(document), document, null);
    const writers = await Promise.allSettled(
      [3, 4, 5, 6].map((minRemainingDays) => {
        const next = policyDocument('race', arn, { safety: { minRemainingDays } });
        return store.put(validated(next), next, { version: 1, appInstanceArn: arn });
      }),
    );
    const won = writers.filter((writer) => writer.status === 'fulfilled');
    const lost = writers.filter((writer) => writer.status === 'rejected');
    expect(won).toHaveLength(1);
    for (const loser of lost)
      expect((loser as PromiseRejectedResult).reason).toBeInstanceOf(PolicyChangedError);
    expect((await store.history('race')).map((stored) => stored.version)).toEqual([2, 1]);
  });

  it("never lets a tenant take another tenant's AppInstance, and releases it when the owner moves", async () => {
    const store = runtime.policyStore;
    const shared = appInstanceArn('claimed-1');
    const owner = policyDocument('owner', shared);
    await store.put(validated(owner), owner, null);
    const intruder = policyDocument('intruder', shared);
    await expect(store.put(validated(intruder), intruder, null)).rejects.toBeInstanceOf(
      AppInstanceClaimedError,
    );
    expect(await store.get('intruder')).toBeNull();

    const moved = policyDocument('owner', appInstanceArn('claimed-2'));
    // A move must be asked for: without it nothing is written and the old AppInstance stays claimed.
    await expect(
      store.put(validated(moved), moved, { version: 1, appInstanceArn: shared }),
    ).rejects.toBeInstanceOf(AppInstanceMoveError);
    await expect(store.put(validated(intruder), intruder, null)).rejects.toBeInstanceOf(
      AppInstanceClaimedError,
    );
    await store.put(
      validated(moved),
      moved,
      { version: 1, appInstanceArn: shared },
      { moveAppInstance: true },
    );
    expect((await store.history('owner')).map((stored) => stored.movedFrom)).toEqual([shared, undefined]);
    const now = await store.put(validated(intruder), intruder, null);
    expect(now.version).toBe(1);
    // The owner cannot move back: the intruder holds it now.
    await expect(
      store.put(
        validated(owner),
        owner,
        { version: 2, appInstanceArn: appInstanceArn('claimed-2') },
        { moveAppInstance: true },
      ),
    ).rejects.toBeInstanceOf(AppInstanceClaimedError);
    expect((await store.get('owner'))?.version).toBe(2);
  });

  it('lists every tenant in id order', async () => {
    const tenants = (await runtime.policyStore.list()).map((stored) => stored.tenantId);
    expect(tenants).toEqual([...tenants].sort());
    expect(tenants).toEqual(expect.arrayContaining(['history', 'stale', 'race', 'owner', 'intruder']));
  });
});
