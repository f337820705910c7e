/**
 * Onboarding at 1,000 requests a day: about one every 86 s, so each arrives alone (onboard-users gathers a
 * batch for 1 s) and each is one invocation of a container whose quota lease has lapsed since the last one
 * (a frozen Lambda runs no heartbeat). Measured here as that: one request per invocation, the container's
 * coordinator stopped in between (its lease lapses without a release write, as it does when frozen).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createContext } from '../../local/event-source/lambda-event';
import { silentLog } from '../../shared/contracts/log';
import { onboardRequestSchema } from '../../shared/onboarding/message';
import type { Meter } from './meter';
import type { World } from './world';

/** The application's SendMessage of each request, and the event source mapping's receive and delete. */
const PRODUCER_REQUESTS = 1;
const ESM_REQUESTS = 2;
/** onboard-users' timeout as declared (functions/onboard-users/function.ts). */
const ONBOARD_TIMEOUT_MS = 120_000;

export async function onboardings(world: World, meter: Meter, count: number): Promise<void> {
  const onboarding = world.onboarder.onboarding();
  for (let index = 0; index < count; index++) {
    const tenantId = world.tenantIds[index % world.tenantIds.length] as string;
    const request = onboardRequestSchema.parse({
      tenantId,
      appInstanceUserId: `guest-onboarded-${index}`,
      name: `Onboarded ${index}`,
      requestId: `cost-${index}`,
    });
    meter.producerRequests(PRODUCER_REQUESTS);
    const started = performance.now();
    onboarding.registerLambdaContext(
      createContext({
        functionName: 'onboard-users',
        region: world.config.region,
        accountId: '123456789012',
        timeoutMs: ONBOARD_TIMEOUT_MS,
      }),
    );
    const result = await onboarding.onboard(request, {
      messageId: randomUUID(),
      deadline: new AbortController().signal,
      log: silentLog,
    });
    if (result.replayed)
      throw new Error(`onboarding request ${index} was a replay; the bench sends each once`);
    meter.invoked('onboard-users', performance.now() - started, ESM_REQUESTS);
    world.onboarder.chimeQuota.coordinator?.stop();
  }
}
