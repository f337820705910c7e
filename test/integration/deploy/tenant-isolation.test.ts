import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppInstanceClaimedError, AppInstanceMoveError } from '../../../shared/aws/policy-store';
import { days, seedTenant } from '../../support/chime';
import {
  eventsOfType,
  type OnboardingStack,
  putPolicy,
  runUntilIdle,
  send,
  startOnboardingStack,
  userIdsOf,
} from '../onboarding/support';

/**
 * IAM cannot keep onboarding inside a tenant's AppInstance: chime:CreateAppInstanceUser has no resource type,
 * so the onboarding role grants it on "*" (functions/onboard-users/function.ts, docs/deploy.md "Tenant
 * isolation"). The code is the boundary, and this proves it holds with the real handler, the Chime emulator,
 * DynamoDB Local and a local SQS: whatever a message naming tenant A carries, users are created in A's
 * AppInstance or nowhere, and a policy can never point A at an AppInstance another tenant claimed.
 */

let stack: OnboardingStack;
let tenantA: string;
let tenantB: string;
let unclaimed: string;

beforeAll(async () => {
  stack = await startOnboardingStack({ maxReceiveCount: 3 });
  tenantA = seedTenant(stack.emulator, [], 'tenant-a');
  tenantB = seedTenant(
    stack.emulator,
    [
      { appInstanceUserId: 'shared-1', ageMs: days(3), expirationDays: 100 },
      { appInstanceUserId: 'b-only', ageMs: days(1) },
    ],
    'tenant-b',
  );
  // An AppInstance of the same account that no tenant claimed: the role could reach it as well.
  unclaimed = seedTenant(stack.emulator, [], 'unclaimed');
  await putPolicy(stack.runtime, 'tenant-a', tenantA);
  await putPolicy(stack.runtime, 'tenant-b', tenantB);
});

afterAll(async () => {
  await stack?.close();
});

/** Every user of an AppInstance with everything onboarding could change. */
async function snapshot(appInstanceArn: string) {
  const users = [];
  for (const id of (await userIdsOf(stack, appInstanceArn)).sort()) {
    users.push(await stack.runtime.chimeUsers.describe(`${appInstanceArn}/user/${id}`));
  }
  return users;
}

async function deadLetterReasons(): Promise<Record<string, string>> {
  const letters = await stack.runtime.deadLetters.peek(stack.queue.deadLetterUrl, 100);
  return Object.fromEntries(
    letters.map((letter) => [String(JSON.parse(letter.body).requestId ?? letter.body), letter.reason ?? '']),
  );
}

describe('tenant isolation of onboarding (the code is the boundary where IAM cannot scope)', () => {
  it("refuses a message for tenant A that carries or forges another AppInstance, and leaves B's untouched", async () => {
    const before = { b: await snapshot(tenantB), unclaimed: await snapshot(unclaimed) };
    const forA = (requestId: string, extra: Record<string, unknown>) =>
      JSON.stringify({ tenantId: 'tenant-a', name: 'Forged', requestId, ...extra });
    await send(stack, [
      // The producer names the AppInstance itself: never accepted, whichever it is.
      forA('carries-b', { appInstanceUserId: 'x1', appInstanceArn: tenantB }),
      forA('carries-unclaimed', { appInstanceUserId: 'x2', appInstanceArn: unclaimed }),
      forA('carries-own', { appInstanceUserId: 'x3', appInstanceArn: tenantA }),
      // Other spellings of the same key are unknown keys.
      forA('other-spelling', { appInstanceUserId: 'x4', AppInstanceArn: tenantB }),
      forA('nested', { appInstanceUserId: 'x5', chime: { appInstanceArn: tenantB } }),
      // User ids shaped like B's user ARN or a path into it: the id pattern has no "/".
      forA('user-arn', { appInstanceUserId: `${tenantB}/user/x6` }),
      forA('path', { appInstanceUserId: `x7/../../${tenantB.split('/').pop()}/user/x7` }),
      // A tenant id that is an ARN is not a tenant id.
      JSON.stringify({ tenantId: tenantB, appInstanceUserId: 'x8', name: 'Forged', requestId: 'tenant-arn' }),
      // JSON.parse makes "__proto__" an own key: refused as unknown, never merged into the request.
      `{"tenantId":"tenant-a","appInstanceUserId":"x9","name":"Forged","requestId":"proto","__proto__":{"appInstanceArn":"${tenantB}"}}`,
      // Valid requests for A whose user ids exist in B: created in A, B's users are not converged.
      forA('same-id-1', { appInstanceUserId: 'shared-1', metadata: '{"plan":"trial"}' }),
      forA('same-id-2', { appInstanceUserId: 'b-only' }),
    ]);
    await runUntilIdle(stack);

    expect(await deadLetterReasons()).toEqual({
      'carries-b': 'app-instance-not-allowed',
      'carries-unclaimed': 'app-instance-not-allowed',
      'carries-own': 'app-instance-not-allowed',
      'other-spelling': 'invalid-message',
      nested: 'invalid-message',
      'user-arn': 'invalid-message',
      path: 'invalid-message',
      'tenant-arn': 'invalid-message',
      proto: 'invalid-message',
    });
    // B's AppInstance and the unclaimed one are exactly as they were: no user added, renamed or re-expired.
    expect(await snapshot(tenantB)).toEqual(before.b);
    expect(await snapshot(unclaimed)).toEqual(before.unclaimed);
    // A got exactly the two valid users, with A's policy (trial: 30 days; default: 365 days).
    const a = await snapshot(tenantA);
    expect(a.map((user) => [user?.appInstanceUserId, user?.expirationDays])).toEqual([
      ['b-only', 365],
      ['shared-1', 30],
    ]);
    const onboarded = eventsOfType(stack, 'User Onboarded').map(
      (event) => event.detail as Record<string, unknown>,
    );
    expect(onboarded).toHaveLength(2);
    for (const detail of onboarded) {
      expect(detail).toMatchObject({ tenantId: 'tenant-a', result: 'created' });
      expect(String(detail.appInstanceUserArn).startsWith(`${tenantA}/user/`)).toBe(true);
    }
  });

  it("stores no policy that points a tenant at an AppInstance another tenant claimed, so onboarding can't be aimed there", async () => {
    const before = await snapshot(tenantB);
    await expect(putPolicy(stack.runtime, 'tenant-c', tenantB)).rejects.toBeInstanceOf(
      AppInstanceClaimedError,
    );
    // Moving tenant-a onto B's AppInstance needs the explicit move flag, and even with it the claim refuses.
    await expect(putPolicy(stack.runtime, 'tenant-a', tenantB)).rejects.toBeInstanceOf(AppInstanceMoveError);
    await expect(
      putPolicy(stack.runtime, 'tenant-a', tenantB, {}, { moveAppInstance: true }),
    ).rejects.toBeInstanceOf(AppInstanceClaimedError);
    // tenant-a still onboards into its own AppInstance; tenant-c has no policy and is refused.
    await send(stack, [
      { tenantId: 'tenant-a', appInstanceUserId: 'after-claim', name: 'A user', requestId: 'after-claim' },
      { tenantId: 'tenant-c', appInstanceUserId: 'c-1', name: 'C user', requestId: 'no-policy' },
    ]);
    await runUntilIdle(stack);
    expect(await userIdsOf(stack, tenantA)).toContain('after-claim');
    expect(await deadLetterReasons()).toMatchObject({ 'no-policy': 'tenant-not-found' });
    expect(await snapshot(tenantB)).toEqual(before);
  });
});
