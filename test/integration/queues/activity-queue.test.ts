import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { environmentFor } from '../../../local/environment';
import { type EventSource, type SqsEventHandler, startEventSource } from '../../../local/event-source-runner';
import { type EnsuredQueue, ensureQueues } from '../../../local/queue-provisioning';
import { type SqsServer, startSqsServer } from '../../../local/sqs-server';
import { ActivityStore } from '../../../shared/aws/activity';
import type { Runtime } from '../../../shared/composition-root';
import { testRuntime } from '../../support/stack';
import { queueDepth, waitFor } from './helpers';

/**
 * The activity queue as record-activity consumes it (the real handler behind the local SQS event source,
 * fauxqs, DynamoDB Local): one write per user per batch, forward only, invalid events dead-lettered.
 */
describe('activity queue → record-activity', () => {
  let server: SqsServer;
  let runtime: Runtime;
  let queue: EnsuredQueue;
  let source: EventSource | undefined;
  let handler: SqsEventHandler;
  const outcomes: string[] = [];

  beforeAll(async () => {
    server = await startSqsServer({ port: 0 });
    runtime = await testRuntime({ runtime: { endpoints: { sqs: server.url } } });
    queue = (await ensureQueues(runtime.sqs, runtime.config)).activity;
    // The handler's Runtime reads the environment when its module loads (Vitest gives each file a worker).
    const endpoints = { dynamodb: runtime.endpoints.dynamodb as string, sqs: server.url };
    for (const [name, value] of Object.entries(
      environmentFor(runtime.config, {
        ...endpoints,
        chime: 'http://127.0.0.1:9',
        eventbridge: 'http://127.0.0.1:9',
      }),
    )) {
      vi.stubEnv(name, value);
    }
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'ERROR');
    // What each conditional update of the store answered: the handler's writes, one per user per batch.
    const record = ActivityStore.prototype.record;
    vi.spyOn(ActivityStore.prototype, 'record').mockImplementation(async function (
      this: ActivityStore,
      event,
    ) {
      const outcome = await record.call(this, event);
      outcomes.push(outcome);
      return outcome;
    });
    handler = (await import('../../../functions/record-activity/handler')).handler as SqsEventHandler;
  });

  afterAll(async () => {
    await source?.stop();
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    runtime?.destroy();
    await server?.close();
  });

  it('coalesces a batch per user, moves lastActiveAt forward only, and dead-letters an invalid event', async () => {
    const at = Date.UTC(2026, 11, 1, 10);
    await runtime.activity.record({ tenantId: 't', appInstanceUserId: 'late', at: at + 60_000 });
    const bodies = [
      { tenantId: 't', appInstanceUserId: 'a', at: new Date(at).toISOString() },
      { tenantId: 't', appInstanceUserId: 'a', at: at + 2_000 },
      { tenantId: 't', appInstanceUserId: 'a', at: at + 1_000 },
      { tenantId: 't', appInstanceUserId: 'b', at },
      { tenantId: 't', appInstanceUserId: 'late', at },
    ].map((body) => JSON.stringify(body));
    await runtime.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: [...bodies, '{"tenantId": "t", "appInstanceUserId": "a"}'].map((body, index) => ({
          Id: String(index),
          MessageBody: body,
        })),
      }),
    );
    outcomes.length = 0;
    source = await startEventSource({
      sqs: runtime.sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      handler,
      batchSize: 10,
      maximumBatchingWindowSeconds: 1,
      waitTimeSeconds: 1,
      functionName: 'record-activity',
      timeoutMs: 30_000,
    });
    await waitFor(
      async () => {
        const depth = await queueDepth(runtime.sqs, queue.url);
        return depth.visible === 0 && depth.inFlight === 0 && outcomes.length >= 3 ? true : undefined;
      },
      { what: 'the activity queue to drain' },
    );
    const last = await runtime.activity.lastActiveMany('t', ['a', 'b', 'late']);
    expect(Object.fromEntries(last)).toEqual({ a: at + 2_000, b: at, late: at + 60_000 });
    // One batch (the batching window gathers all six): a's older two events are settled by its latest
    // without a write, and the late user's older event is refused by the condition.
    expect(outcomes.sort()).toEqual(['advanced', 'advanced', 'stale']);
    const dead = await runtime.deadLetters.peek(queue.deadLetterUrl, 10);
    expect(dead.map((letter) => letter.reason)).toEqual(['invalid-message']);
  });
});
