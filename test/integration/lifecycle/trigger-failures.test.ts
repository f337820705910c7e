import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalEventBridge, startLocalEventBridge } from '../../../local/eventbridge-server';
import {
  ensureFailureQueues,
  type FailureQueue,
  sendRuleDeadLetter,
  sendStreamFailure,
} from '../../../local/failure-queues';
import { type SqsServer, startSqsServer } from '../../../local/sqs-server';
import { stackWiring } from '../../../local/stack';
import type { LocalFunctionWiring } from '../../../local/stack-wiring';
import { type StreamSource, startStreamSource } from '../../../local/stream-runner';
import type { Runtime } from '../../../shared/composition-root';
import { dynamoDbUrl } from '../../support/context';
import { testRuntime } from '../../support/stack';

type Wired<K extends string> = LocalFunctionWiring & { trigger: { kind: K } };
const wired = <K extends LocalFunctionWiring['trigger']['kind']>(name: string, kind: K) => {
  const fn = stackWiring().find((candidate) => candidate.name === name);
  if (fn?.trigger.kind !== kind) throw new Error(`${name} is not wired as ${kind}`);
  return fn as Wired<K> & { trigger: Extract<LocalFunctionWiring['trigger'], { kind: K }> };
};

/**
 * The local triggers give up as their declarations say, on real servers: the policy table's stream
 * (DynamoDB Local) with policy-changed's retries, bisection and on-failure queue, and the user-removed rule
 * (the local EventBridge) with its retry policy and dead-letter queue (fauxqs). Nothing is retried forever,
 * nothing is dropped in silence.
 */
describe('local trigger failures end where the declarations say', () => {
  let runtime: Runtime;
  let sqs: SqsServer;
  let queues: Record<'PolicyStreamFailureQueue' | 'UserRemovedDeadLetterQueue', FailureQueue>;

  const receiveAll = async (queue: FailureQueue) => {
    const { Messages = [] } = await runtime.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    return Messages;
  };

  beforeAll(async () => {
    sqs = await startSqsServer({ port: 0 });
    runtime = await testRuntime({ runtime: { endpoints: { sqs: sqs.url } } });
    queues = await ensureFailureQueues(runtime.sqs, runtime.config);
  });

  afterAll(async () => {
    runtime?.destroy();
    await sqs?.close();
  });

  describe("policy-changed's stream", () => {
    let source: StreamSource;
    const invoked: string[][] = [];
    const handled: string[] = [];

    beforeAll(async () => {
      const { trigger } = wired('policy-changed', 'stream');
      const destination = queues[trigger.onFailureQueue ?? 'PolicyStreamFailureQueue'];
      source = await startStreamSource({
        dynamo: runtime.dynamo,
        streams: new DynamoDBStreamsClient({ region: 'us-east-1', endpoint: dynamoDbUrl() }),
        tableName: runtime.config.policyTable,
        // The function fails on the record of tenant "poison" and handles every other one.
        handler: async (event: DynamoDBStreamEvent) => {
          const tenants = event.Records.map((record) => String(record.dynamodb?.Keys?.tenantId?.S));
          invoked.push(tenants);
          if (tenants.includes('poison')) throw new Error('policy-changed failed');
          handled.push(...tenants);
        },
        startingPosition: trigger.startingPosition,
        batchSize: trigger.batchSize,
        bisectBatchOnFunctionError: trigger.bisectBatchOnFunctionError,
        maximumRetryAttempts: trigger.maximumRetryAttempts,
        maximumRecordAgeSeconds: trigger.maximumRecordAgeSeconds,
        retryDelayMs: 20,
        pollMs: 50,
        onFailure: async (record) => {
          await sendStreamFailure(runtime.sqs, destination, record);
        },
      });
    });

    afterAll(async () => {
      await source?.stop();
    });

    it('gives up on the failing record after the declared retries, reports it, and goes on with the shard', async () => {
      const put = (tenantId: string) =>
        runtime.documents.send(
          new PutCommand({ TableName: runtime.config.policyTable, Item: { tenantId, version: 1 } }),
        );
      await put('poison');
      await put('after');
      const deadline = Date.now() + 30_000;
      while (!handled.includes('after') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const { trigger } = wired('policy-changed', 'stream');
      // The poison record alone (bisected out, if it came with others), 1 + maximumRetryAttempts times.
      const poisonAlone = invoked.filter((batch) => batch.length === 1 && batch[0] === 'poison');
      expect(poisonAlone).toHaveLength(1 + trigger.maximumRetryAttempts);
      expect(handled).toEqual(['after']);
      expect(source.failed()).toBe(1);
      const [message, ...more] = await receiveAll(queues.PolicyStreamFailureQueue);
      expect(more).toEqual([]);
      expect(JSON.parse(message?.Body ?? '{}')).toMatchObject({
        requestContext: {
          condition: 'RetryAttemptsExhausted',
          approximateInvokeCount: 1 + trigger.maximumRetryAttempts,
        },
        DDBStreamBatchInfo: { batchSize: 1 },
      });
    });
  });

  describe("user-removed's rule", () => {
    let bus: LocalEventBridge;

    beforeAll(async () => {
      bus = await startLocalEventBridge({ retryBackoff: { base: 5, cap: 20, jitter: 'equal' } });
    });

    afterAll(async () => {
      await bus?.close();
    });

    it('retries a failing invocation as declared, then puts the event in the DLQ with the attributes EventBridge sets', async () => {
      const { trigger } = wired('user-removed', 'rule');
      let calls = 0;
      bus.addRule({
        name: 'user-removed-rule',
        pattern: trigger.pattern,
        retryPolicy: trigger.retryPolicy,
        target: async () => {
          calls++;
          throw new Error('DynamoDB unreachable');
        },
        deadLetter: async (failure) => {
          await sendRuleDeadLetter(
            runtime.sqs,
            queues[trigger.deadLetterQueue],
            {
              rule: 'arn:aws:events:us-east-1:000000000000:rule/user-removed-rule',
              target: 'arn:aws:lambda:us-east-1:000000000000:function:user-removed',
            },
            failure,
          );
        },
      });
      const events = new EventBridgeClient({ region: 'us-east-1', endpoint: bus.url });
      const { Entries = [] } = await events.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: 'aws.chime',
              DetailType: 'AWS API Call via CloudTrail',
              Detail: JSON.stringify({
                eventSource: 'chime.amazonaws.com',
                eventName: 'DeleteAppInstanceUser',
              }),
            },
          ],
        }),
      );
      events.destroy();
      await bus.idle();
      expect(calls).toBe(1 + trigger.retryPolicy.maximumRetryAttempts);
      const [message, ...more] = await receiveAll(queues[trigger.deadLetterQueue]);
      expect(more).toEqual([]);
      expect(JSON.parse(message?.Body ?? '{}')).toMatchObject({
        id: Entries[0]?.EventId,
        source: 'aws.chime',
      });
      const attributes = Object.fromEntries(
        Object.entries(message?.MessageAttributes ?? {}).map(([key, value]) => [key, value.StringValue]),
      );
      expect(attributes).toEqual({
        RULE_ARN: 'arn:aws:events:us-east-1:000000000000:rule/user-removed-rule',
        TARGET_ARN: 'arn:aws:lambda:us-east-1:000000000000:function:user-removed',
        ERROR_CODE: 'Error',
        ERROR_MESSAGE: 'Error: DynamoDB unreachable',
        EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttemptsExhausted',
        RETRY_ATTEMPTS: String(trigger.retryPolicy.maximumRetryAttempts),
      });
      expect(bus.deliveries()['user-removed-rule']).toMatchObject({ failed: 1, deadLettered: 1 });
    });
  });
});
