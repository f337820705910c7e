import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant } from '../../support/chime';
import {
  creates,
  type OnboardingStack,
  putPolicy,
  runUntilIdle,
  send,
  startOnboardingStack,
  userIdsOf,
} from './support';

/**
 * The queue driver's invocation deadline with the real onboard-users handler: a batch that needs longer than
 * its function has (the emulator and the limiter allow 1 create per second per AppInstance, the function
 * 8 s) hands back the records still waiting for their rate token before the invocation times out, instead
 * of letting them wait out the queue's visibility timeout.
 */

const REQUESTS = 10;
let stack: OnboardingStack;
let tenant: string;

beforeAll(async () => {
  // Quotas at a tenth: 1 CreateAppInstanceUser per second per AppInstance.
  stack = await startOnboardingStack({ quotaScale: 0.1, visibilityTimeoutSeconds: 8, maxReceiveCount: 8 });
  tenant = seedTenant(stack.emulator, [], 'slow');
  await putPolicy(stack.runtime, 'slow', tenant);
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

describe('onboard-users at its deadline', () => {
  it('hands back what still waits for Chime at the deadline: no invocation times out, every user is created once, nothing is dead-lettered', async () => {
    await send(
      stack,
      Array.from({ length: REQUESTS }, (_, index) => ({
        tenantId: 'slow',
        appInstanceUserId: `late-${index}`,
        name: `Late ${index}`,
      })),
    );
    const stats = await runUntilIdle(stack, { concurrency: 1, idleMs: 4_000, timeoutMs: 90_000 });
    // One batch of 10 at 1 create per second cannot finish in 8 s: some records were handed back...
    expect(stats.retried).toBeGreaterThan(0);
    // ...before the timeout, which no invocation reached (a timed-out batch counts as a handler error).
    expect(stats.handlerErrors).toBe(0);
    expect((await userIdsOf(stack, tenant)).sort()).toEqual(
      Array.from({ length: REQUESTS }, (_, index) => `late-${index}`).sort(),
    );
    // A record handed back had sent no create that Chime performed: each user was created by one call
    // (the others were 429s at the edge of the quota, which the limiter paces).
    const throttled = stack.emulator.stats().throttled.CreateAppInstanceUser ?? 0;
    expect(creates(stack) - throttled).toBe(REQUESTS);
    expect(stack.emulator.stats().calls.UpdateAppInstanceUser ?? 0).toBe(0);
    expect(await stack.runtime.deadLetters.peek(stack.queue.deadLetterUrl, 10)).toEqual([]);
  });
});
