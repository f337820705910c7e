import { DeleteAppInstanceUserCommand } from '@aws-sdk/client-chime-sdk-identity';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChimeEmulator } from '../../../emulator';
import userRemoved from '../../../functions/user-removed/function';
import { createContext } from '../../../local/event-source-runner';
import {
  type LocalEventBridge,
  type ReceivedEvent,
  startLocalEventBridge,
} from '../../../local/eventbridge-server';
import { storePolicyDocument } from '../../../shared/aws/policy-store';
import type { Runtime } from '../../../shared/composition-root';
import { syncInProcess } from '../../../shared/sync/pull-mode';
import type { UserRemovedResult } from '../../../shared/sync/user-removed';
import { policyDocument } from '../../fixtures/policies';
import { type ChimeEmulator, days, seedTenant } from '../../support/chime';
import { dynamoDbUrl } from '../../support/context';
import { exportEnvironment, testRuntime } from '../../support/stack';

type Handler = (event: EventBridgeEvent<string, unknown>, context: Context) => Promise<UserRemovedResult>;

/**
 * Chime's deletion events are claims: through the real user-removed handler (its Runtime built from the
 * environment, as on Lambda) behind the local EventBridge's rule, against the emulator and DynamoDB Local.
 * A hand-made deletion event for a user Chime still has marks nothing and announces nothing; Chime's own
 * deletion still does both at once.
 */
describe('user-removed believes Chime, not the event', () => {
  let emulator: ChimeEmulator;
  let eventBridge: LocalEventBridge;
  let runtime: Runtime;
  let arn: string;
  const results: UserRemovedResult[] = [];

  const published = (type: string, userId: string): ReceivedEvent[] =>
    eventBridge.events.filter(
      (event) =>
        event.source === 'chime-lifecycle' &&
        event.detailType === type &&
        (event.detail as { appInstanceUserId?: string }).appInstanceUserId === userId,
    );
  const ledgerOf = async (userId: string) => (await runtime.ledger.getMany('rm', [userId])).get(userId);

  /** A CloudTrail-shaped event as anyone can put it on the local default bus. */
  const put = async (detailType: string, detail: Record<string, unknown>) => {
    const { FailedEntryCount } = await runtime.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'aws.chime',
            DetailType: detailType,
            Detail: JSON.stringify({ eventSource: 'chime.amazonaws.com', ...detail }),
          },
        ],
      }),
    );
    expect(FailedEntryCount).toBe(0);
    await eventBridge.idle();
  };

  beforeAll(async () => {
    eventBridge = await startLocalEventBridge();
    // The emulator's own deletions go to the local default bus as CloudTrail would send them.
    emulator = await startChimeEmulator({ port: 0, quotaScale: 50, cloudTrailEvents: eventBridge.url });
    runtime = await testRuntime({
      config: { quotaScale: 50, eventBus: 'default' },
      runtime: { endpoints: { chime: emulator.url, eventbridge: eventBridge.url } },
    });
    exportEnvironment(runtime.config, {
      dynamodb: dynamoDbUrl(),
      chime: emulator.url,
      eventbridge: eventBridge.url,
      sqs: 'http://127.0.0.1:9',
    });
    const { handler } = (await import('../../../functions/user-removed/handler')) as unknown as {
      handler: Handler;
    };
    eventBridge.addRule({
      name: 'user-removed-rule',
      pattern: userRemoved.trigger.pattern,
      target: async (event) => {
        results.push(
          await handler(
            event as unknown as EventBridgeEvent<string, unknown>,
            createContext({
              functionName: 'user-removed',
              region: 'us-east-1',
              accountId: '000000000000',
              timeoutMs: userRemoved.timeoutSeconds * 1000,
            }),
          ),
        );
      },
    });
    arn = seedTenant(
      emulator,
      [
        { appInstanceUserId: 'alive', ageMs: days(1) },
        { appInstanceUserId: 'leaving', ageMs: days(1) },
      ],
      'rm',
    );
    await storePolicyDocument(
      runtime.policyStore,
      policyDocument('rm', arn, {
        safety: { minRemainingDays: 1, maxShorteningChanges: 100, maxShorteningPercent: 100 },
      }),
    );
    // A sync writes both users into the ledger.
    const [first] = await syncInProcess(['rm'], (queue) => runtime.reconcileDeps({ queue }));
    expect(first?.run?.state).toBe('completed');
    expect((await ledgerOf('alive'))?.goneAt).toBeUndefined();
  }, 60_000);

  afterAll(async () => {
    runtime?.destroy();
    await emulator?.close();
    await eventBridge?.close();
  });

  it('a hand-made deletion or expiry event for a user Chime still has: ledger not marked, nothing published', async () => {
    const describesBefore = emulator.stats().calls.DescribeAppInstanceUser ?? 0;
    await put('AWS API Call via CloudTrail', {
      eventName: 'DeleteAppInstanceUser',
      eventTime: new Date().toISOString(),
      requestParameters: { appInstanceUserArn: `${arn}/user/alive` },
    });
    await put('AWS Service Event via CloudTrail', {
      eventName: 'ExpireAppInstanceUser',
      eventTime: new Date().toISOString(),
      resources: [{ type: 'AWS::Chime::AppInstanceUser', ARN: `${arn}/user/alive` }],
    });
    expect(results.map((result) => result.outcome)).toEqual(['still-exists', 'still-exists']);
    // One Describe each, through the rate-limited client.
    expect((emulator.stats().calls.DescribeAppInstanceUser ?? 0) - describesBefore).toBe(2);
    const entry = await ledgerOf('alive');
    expect(entry).toBeDefined();
    expect(entry?.goneAt).toBeUndefined();
    expect(entry?.goneReason).toBeUndefined();
    expect(published('User Deleted', 'alive')).toEqual([]);
    expect(published('User Expired', 'alive')).toEqual([]);
  });

  it("Chime's own deletion still marks the user gone at once and publishes User Deleted", async () => {
    results.length = 0;
    await runtime.chime.send(new DeleteAppInstanceUserCommand({ AppInstanceUserArn: `${arn}/user/leaving` }));
    const deadline = Date.now() + 10_000;
    while (published('User Deleted', 'leaving').length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await eventBridge.idle();
    }
    expect(results.map((result) => result.outcome)).toEqual(['marked']);
    expect((await ledgerOf('leaving'))?.goneReason).toBe('deleted');
    expect(published('User Deleted', 'leaving')).toHaveLength(1);
  });
});
