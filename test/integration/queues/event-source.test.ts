import { createHash } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ErrorPhase,
  type EventSourceOptions,
  LAMBDA_MAX_PAYLOAD_BYTES,
  pollOnce,
  startEventSource,
} from '../../../local/event-source-runner';
import type { EnsuredQueue } from '../../../local/queue-provisioning';
import { ensureQueues } from '../../../local/queue-provisioning';
import { createSqsClient } from '../../../shared/aws/sqs';
import { type QueueStack, queueDepth, REGION, startQueueStack, uniqueQueueConfig, waitFor } from './helpers';

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

  it('pause() parks every poller with nothing left invisible; messages sent meanwhile wait for resume()', async () => {
    const { onboarding: queue } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    const handled: string[] = [];
    const source = await startEventSource({
      sqs: stack.sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      batchSize: 4,
      concurrency: 3,
      waitTimeSeconds: 1,
      handler: async (event) => {
        handled.push(...event.Records.map((record) => record.body));
      },
    });
    try {
      await send(queue.url, ['before']);
      await waitFor(async () => handled.includes('before') || undefined, { what: 'the first message' });
      // Two callers at once (a bench and a test helper, say): both resolve once the pollers are parked.
      await Promise.all([source.pause(), source.pause()]);
      const bodies = Array.from({ length: 12 }, (_, index) => `m${index}`);
      await send(queue.url, bodies);
      // Longer than a poll's wait: a poller that was not parked would have received by now.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(handled).toEqual(['before']);
      expect(await queueDepth(stack.sqs, queue.url)).toEqual({ visible: 12, inFlight: 0 });
      source.resume();
      await waitFor(async () => handled.length === 13 || undefined, {
        what: 'the messages sent while paused',
      });
      expect(handled.slice(1).sort()).toEqual([...bodies].sort());
    } finally {
      await source.stop();
    }
  });

  it('stop() resolves while paused', async () => {
    const { onboarding: queue } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    const source = await startEventSource({
      sqs: stack.sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      waitTimeSeconds: 1,
      handler: async () => {},
    });
    await source.pause();
    const started = Date.now();
    await source.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
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

/** A real SQS client on the test's fauxqs that records its requests and can slow chosen commands down. */
function observedClient(delays: Partial<Record<string, number>> = {}): {
  sqs: SQSClient;
  calls: { command: string; startedAt: number; endedAt?: number }[];
  maxConcurrent: (command: string) => number;
} {
  const sqs = createSqsClient({ region: REGION, endpoint: stack.server.url });
  const calls: { command: string; startedAt: number; endedAt?: number }[] = [];
  const running = new Map<string, number>();
  const peaks = new Map<string, number>();
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName).replace(/Command$/, '');
      const call: { command: string; startedAt: number; endedAt?: number } = {
        command,
        startedAt: Date.now(),
      };
      calls.push(call);
      running.set(command, (running.get(command) ?? 0) + 1);
      peaks.set(command, Math.max(peaks.get(command) ?? 0, running.get(command) ?? 0));
      try {
        const delay = delays[command];
        if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
        return await next(args);
      } finally {
        call.endedAt = Date.now();
        running.set(command, (running.get(command) ?? 1) - 1);
      }
    },
    { step: 'initialize', name: 'observeCalls' },
  );
  return { sqs, calls, maxConcurrent: (command) => peaks.get(command) ?? 0 };
}

describe('batches beyond 10 messages (Lambda limits)', () => {
  it('delivers 100 messages in one invocation, filled by parallel receives before the window closes', async () => {
    const { onboarding: queue } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    const bodies = Array.from({ length: 100 }, (_, index) => `m${index}`);
    await send(queue.url, bodies);
    const observed = observedClient();
    const sizes: number[] = [];
    const handled: string[] = [];
    const began = Date.now();
    try {
      const result = await pollOnce({
        sqs: observed.sqs,
        queueUrl: queue.url,
        queueArn: queue.arn,
        batchSize: 100,
        maximumBatchingWindowSeconds: 5,
        waitTimeSeconds: 1,
        handler: async (event) => {
          sizes.push(event.Records.length);
          handled.push(...event.Records.map((record) => record.body));
        },
      });
      expect(result).toMatchObject({ outcome: 'success', received: 100 });
      expect(result.deleted).toHaveLength(100);
    } finally {
      observed.sqs.destroy();
    }
    expect(sizes).toEqual([100]);
    expect(handled.sort()).toEqual([...bodies].sort());
    // Full long before the 5 s window: a full batch is invoked at once.
    expect(Date.now() - began).toBeLessThan(4_000);
    expect(observed.maxConcurrent('ReceiveMessage')).toBeGreaterThan(1);
    expect(observed.maxConcurrent('DeleteMessageBatch')).toBeGreaterThan(1);
    expect(await queueDepth(stack.sqs, queue.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('invokes with a partial batch when the window closes', async () => {
    const { onboarding: queue } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    await send(
      queue.url,
      Array.from({ length: 15 }, (_, index) => `m${index}`),
    );
    const sizes: number[] = [];
    let invokedAfterMs = 0;
    const began = Date.now();
    const result = await pollOnce({
      sqs: stack.sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      batchSize: 100,
      maximumBatchingWindowSeconds: 1,
      waitTimeSeconds: 1,
      handler: async (event) => {
        invokedAfterMs = Date.now() - began;
        sizes.push(event.Records.length);
      },
    });
    expect(sizes).toEqual([15]);
    expect(result.deleted).toHaveLength(15);
    expect(invokedAfterMs).toBeGreaterThanOrEqual(950);
    expect(invokedAfterMs).toBeLessThan(2_000);
  });

  it("caps the payload at Lambda's 6 MB and releases the rest at once for a later batch", async () => {
    const { onboarding: queue } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    // 900 kB each: six fit in 6 MB, seven do not.
    const bodies = Array.from({ length: 8 }, (_, index) => `${index}`.padEnd(900_000, 'x'));
    for (const body of bodies) {
      await stack.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body }));
    }
    const batches: { size: number; payloadBytes: number; receiveCounts: string[] }[] = [];
    const options: EventSourceOptions = {
      sqs: stack.sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      batchSize: 100,
      maximumBatchingWindowSeconds: 1,
      waitTimeSeconds: 1,
      handler: async (event) => {
        batches.push({
          size: event.Records.length,
          payloadBytes: Buffer.byteLength(JSON.stringify(event)),
          receiveCounts: event.Records.map((record) => record.attributes.ApproximateReceiveCount),
        });
      },
    };
    const first = await pollOnce(options);
    // The two past the limit are visible again at once, not after the 120 s visibility timeout.
    expect(await queueDepth(stack.sqs, queue.url)).toEqual({ visible: 2, inFlight: 0 });
    const second = await pollOnce(options);
    expect([first.received, second.received]).toEqual([6, 2]);
    expect(batches.map((batch) => batch.size)).toEqual([6, 2]);
    for (const batch of batches) expect(batch.payloadBytes).toBeLessThanOrEqual(LAMBDA_MAX_PAYLOAD_BYTES);
    // Lambda's pollers count a receive for the messages they hand back, and so does this runner.
    expect(batches[1]?.receiveCounts).toEqual(['2', '2']);
    expect(await queueDepth(stack.sqs, queue.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('refuses a batch size over 10 without a batching window, and one over 10,000, as Lambda does', async () => {
    const { onboarding: queue } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    const base = { sqs: stack.sqs, queueUrl: queue.url, queueArn: queue.arn, handler: async () => {} };
    await expect(startEventSource({ ...base, functionName: 'onboard-users', batchSize: 11 })).rejects.toThrow(
      'onboard-users: batchSize 11 needs maximumBatchingWindowSeconds of at least 1 (Lambda refuses a batch size over 10 without a batching window), got 0',
    );
    await expect(pollOnce({ ...base, batchSize: 100, maximumBatchingWindowSeconds: 0 })).rejects.toThrow(
      /batchSize 100 needs maximumBatchingWindowSeconds of at least 1/,
    );
    await expect(
      startEventSource({ ...base, batchSize: 10_001, maximumBatchingWindowSeconds: 1 }),
    ).rejects.toThrow(/batchSize must be an integer from 1 to 10000, got 10001/);
  });

  it("starts a slot's next receive before the last batch's deletes finish, and stop() waits for them", async () => {
    const { onboarding: queue } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    const observed = observedClient({ DeleteMessageBatch: 1_000 });
    let handlerEndedAt = 0;
    const source = await startEventSource({
      sqs: observed.sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      waitTimeSeconds: 1,
      handler: async () => {
        handlerEndedAt = Date.now();
      },
    });
    let stoppedAt = 0;
    try {
      await send(queue.url, ['one']);
      await waitFor(
        async () =>
          handlerEndedAt > 0 &&
          observed.calls.some((call) => call.command === 'ReceiveMessage' && call.startedAt >= handlerEndedAt)
            ? true
            : undefined,
        { what: 'the next receive after the invocation' },
      );
      // The delete is still held up by the 1 s delay: the batch is in flight, nothing deleted yet.
      expect(source.stats).toMatchObject({ inFlight: 1, deleted: 0 });
    } finally {
      await source.stop();
      stoppedAt = Date.now();
      observed.sqs.destroy();
    }
    const deletes = observed.calls.filter((call) => call.command === 'DeleteMessageBatch');
    expect(deletes).toHaveLength(1);
    expect(deletes[0]?.endedAt).toBeDefined();
    expect(deletes[0]?.endedAt ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(stoppedAt);
    expect(source.stats).toMatchObject({ batches: 1, deleted: 1, inFlight: 0 });
    expect(await queueDepth(stack.sqs, queue.url)).toEqual({ visible: 0, inFlight: 0 });
  });
});
