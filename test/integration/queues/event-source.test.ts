import { createHash } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ErrorPhase,
  type EventSourceOptions,
  pollOnce,
  startEventSource,
} from '../../../local/event-source-runner';
import type { EnsuredQueue } from '../../../local/queue-provisioning';
import { ensureQueues } from '../../../local/queue-provisioning';
import { type QueueStack, queueDepth, startQueueStack, uniqueQueueConfig, waitFor } from './helpers';

let stack: QueueStack;

beforeAll(async () => {
  stack = await startQueueStack();
});

afterAll(async () => {
  await stack?.close();
});

/** An onboarding queue with a 1 s visibility timeout, so failed messages come back quickly. */
async function fastQueue(maxReceiveCount = 5): Promise<EnsuredQueue> {
  const { onboarding } = await ensureQueues(stack.sqs, uniqueQueueConfig(), {
    onboarding: { visibilityTimeoutSeconds: 1, maxReceiveCount },
  });
  return onboarding;
}

async function send(queueUrl: string, bodies: readonly string[]): Promise<void> {
  await stack.queues.sendBatch(
    queueUrl,
    bodies.map((body) => ({ body })),
  );
}

function recordErrors(): {
  errors: { phase: ErrorPhase; error: unknown }[];
  onError: NonNullable<EventSourceOptions['onError']>;
} {
  const errors: { phase: ErrorPhase; error: unknown }[] = [];
  return { errors, onError: (error, { phase }) => errors.push({ phase, error }) };
}

describe('pollOnce', () => {
  it('builds a Lambda-shaped SQSEvent and Context', async () => {
    const queue = await fastQueue();
    await stack.queues.sendBatch(queue.url, [{ body: '{"tenantId":"t1"}', attributes: { tenant: 't1' } }]);
    let seen: { event: SQSEvent; context: Context; remaining: number } | undefined;
    const result = await pollOnce({
      sqs: stack.sqs,
      queueUrl: queue.url,
      waitTimeSeconds: 1,
      functionName: 'onboard-users',
      timeoutMs: 10_000,
      handler: async (event, context) => {
        seen = { event, context, remaining: context.getRemainingTimeInMillis() };
      },
    });
    expect(result).toMatchObject({ outcome: 'success', received: 1 });
    const record = seen?.event.Records[0];
    expect(seen?.event.Records).toHaveLength(1);
    expect(record).toMatchObject({
      body: '{"tenantId":"t1"}',
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: 'us-east-1',
      md5OfBody: createHash('md5').update('{"tenantId":"t1"}').digest('hex'),
      messageAttributes: {
        tenant: { stringValue: 't1', stringListValues: [], binaryListValues: [], dataType: 'String' },
      },
    });
    expect(record?.attributes.ApproximateReceiveCount).toBe('1');
    expect(Number(record?.attributes.SentTimestamp)).toBeGreaterThan(Date.now() - 60_000);
    expect(Number(record?.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThan(0);
    expect(record?.md5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
    expect(seen?.context.functionName).toBe('onboard-users');
    expect(seen?.context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen?.remaining).toBeGreaterThan(5_000);
    expect(seen?.remaining).toBeLessThanOrEqual(10_000);
  });

  it('deletes only the successes; the reported failures come back after the visibility timeout', async () => {
    const queue = await fastQueue();
    await send(queue.url, ['ok-1', 'fail-1', 'ok-2', 'fail-2', 'ok-3']);
    const failOnce = async (event: SQSEvent): Promise<SQSBatchResponse> => ({
      batchItemFailures: event.Records.filter(
        (record) => record.body.startsWith('fail') && record.attributes.ApproximateReceiveCount === '1',
      ).map((record) => ({ itemIdentifier: record.messageId })),
    });

    const first = await pollOnce({
      sqs: stack.sqs,
      queueUrl: queue.url,
      waitTimeSeconds: 1,
      handler: failOnce,
    });
    expect(first).toMatchObject({ outcome: 'partial', received: 5 });
    expect(first.deleted).toHaveLength(3);
    expect(first.retried).toHaveLength(2);
    expect(await queueDepth(stack.sqs, queue.url)).toEqual({ visible: 0, inFlight: 2 });

    const bodies: string[] = [];
    const counts: string[] = [];
    const second = await pollOnce({
      sqs: stack.sqs,
      queueUrl: queue.url,
      waitTimeSeconds: 5,
      handler: async (event) => {
        for (const record of event.Records) {
          bodies.push(record.body);
          counts.push(record.attributes.ApproximateReceiveCount);
        }
        return failOnce(event);
      },
    });
    expect(second.outcome).toBe('success');
    expect(bodies.sort()).toEqual(['fail-1', 'fail-2']);
    expect(counts).toEqual(['2', '2']);
    expect(await queueDepth(stack.sqs, queue.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('deletes nothing when the handler throws', async () => {
    const queue = await fastQueue();
    await send(queue.url, ['a', 'b', 'c']);
    const { errors, onError } = recordErrors();
    const result = await pollOnce({
      sqs: stack.sqs,
      queueUrl: queue.url,
      waitTimeSeconds: 1,
      onError,
      handler: async () => {
        throw new Error('boom');
      },
    });
    expect(result).toMatchObject({ outcome: 'failure', received: 3, deleted: [] });
    expect(result.retried).toHaveLength(3);
    expect(errors.map((entry) => entry.phase)).toEqual(['handler']);
    expect(await queueDepth(stack.sqs, queue.url)).toEqual({ visible: 0, inFlight: 3 });
  });

  it('retries the whole batch when a batchItemFailures id is not in the batch', async () => {
    const queue = await fastQueue();
    await send(queue.url, ['a', 'b']);
    const { errors, onError } = recordErrors();
    const result = await pollOnce({
      sqs: stack.sqs,
      queueUrl: queue.url,
      waitTimeSeconds: 1,
      onError,
      handler: async (event) => ({
        batchItemFailures: [
          { itemIdentifier: event.Records[0]?.messageId ?? '' },
          { itemIdentifier: 'not-in-batch' },
        ],
      }),
    });
    expect(result).toMatchObject({ outcome: 'failure', received: 2, deleted: [] });
    expect(errors.map((entry) => entry.phase)).toEqual(['response']);
    expect(await queueDepth(stack.sqs, queue.url)).toEqual({ visible: 0, inFlight: 2 });
  });

  it('treats a handler that outlives its timeout as failed', async () => {
    const queue = await fastQueue();
    await send(queue.url, ['slow']);
    const { errors, onError } = recordErrors();
    const result = await pollOnce({
      sqs: stack.sqs,
      queueUrl: queue.url,
      waitTimeSeconds: 1,
      timeoutMs: 100,
      onError,
      handler: () => new Promise((resolve) => setTimeout(resolve, 1_000)),
    });
    expect(result).toMatchObject({ outcome: 'failure', deleted: [] });
    expect(String(errors[0]?.error)).toMatch(/Task timed out after 0.10 seconds/);
  });

  it('fills a batch during the batching window', async () => {
    const queue = await fastQueue();
    await send(queue.url, ['a', 'b', 'c']);
    setTimeout(() => void send(queue.url, ['d', 'e']), 300);
    const sizes: number[] = [];
    const result = await pollOnce({
      sqs: stack.sqs,
      queueUrl: queue.url,
      batchSize: 5,
      maximumBatchingWindowSeconds: 3,
      waitTimeSeconds: 1,
      handler: async (event) => {
        sizes.push(event.Records.length);
      },
    });
    expect(sizes).toEqual([5]);
    expect(result.deleted).toHaveLength(5);
  });
});

describe('startEventSource', () => {
  it('moves a message that always fails to the DLQ after exactly maxReceiveCount deliveries', async () => {
    const queue = await fastQueue(3);
    await send(queue.url, ['poison']);
    const deliveries: string[] = [];
    const source = await startEventSource({
      sqs: stack.sqs,
      queueUrl: queue.url,
      waitTimeSeconds: 1,
      timeoutMs: 1_000,
      onError: () => {},
      handler: async (event) => {
        for (const record of event.Records) deliveries.push(record.attributes.ApproximateReceiveCount);
        return { batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) };
      },
    });
    try {
      await waitFor(
        async () => ((await queueDepth(stack.sqs, queue.deadLetterUrl)).visible === 1 ? true : undefined),
        {
          what: 'the message in the DLQ',
        },
      );
    } finally {
      await source.stop();
    }
    expect(deliveries).toEqual(['1', '2', '3']);
    const [letter] = await stack.deadLetters.peek(queue.deadLetterUrl, 10);
    expect(letter).toMatchObject({ body: 'poison', reason: 'max-receive-count-exceeded' });
    expect(source.stats).toMatchObject({ batches: 3, received: 3, deleted: 0, retried: 3, inFlight: 0 });
  });

  it('processes every message once with concurrent pollers and drains', async () => {
    const { onboarding: queue } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    const bodies = Array.from({ length: 25 }, (_, index) => `m${index}`);
    await send(queue.url, bodies);
    const handled: string[] = [];
    const source = await startEventSource({
      sqs: stack.sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      batchSize: 4,
      concurrency: 2,
      waitTimeSeconds: 1,
      handler: async (event) => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        handled.push(...event.Records.map((record) => record.body));
      },
    });
    try {
      await source.drain({ idleMs: 200, timeoutMs: 30_000 });
    } finally {
      await source.stop();
    }
    expect(handled.sort()).toEqual([...bodies].sort());
    expect(source.stats).toMatchObject({ received: 25, deleted: 25, retried: 0, handlerErrors: 0 });
    expect(await queueDepth(stack.sqs, queue.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('stop() lets the in-flight batch finish and delete before resolving', async () => {
    const { onboarding: queue } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    let finished = false;
    const source = await startEventSource({
      sqs: stack.sqs,
      queueUrl: queue.url,
      waitTimeSeconds: 1,
      handler: async () => {
        started();
        await new Promise((resolve) => setTimeout(resolve, 500));
        finished = true;
      },
    });
    await send(queue.url, ['in-flight']);
    await handlerStarted;
    await source.stop();
    expect(finished).toBe(true);
    expect(source.stats).toMatchObject({ batches: 1, deleted: 1, inFlight: 0 });
    expect(await queueDepth(stack.sqs, queue.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('refuses a queue whose visibility timeout is shorter than the function timeout, as AWS does', async () => {
    const queue = await fastQueue();
    await expect(
      startEventSource({ sqs: stack.sqs, queueUrl: queue.url, timeoutMs: 5_000, handler: async () => {} }),
    ).rejects.toThrow(/Queue visibility timeout: 1 seconds is less than Function timeout: 5 seconds/);
  });

  it('stop() returns promptly while a long poll is waiting', async () => {
    const { onboarding: queue } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    const source = await startEventSource({
      sqs: stack.sqs,
      queueUrl: queue.url,
      waitTimeSeconds: 20,
      handler: async () => {},
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const began = Date.now();
    await source.stop();
    expect(Date.now() - began).toBeLessThan(5_000);
  });
});
