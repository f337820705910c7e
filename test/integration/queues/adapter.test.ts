import { GetQueueAttributesCommand, type Message, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import queues from '../../../infra/queues.json' with { type: 'json' };
import { toSqsRecord } from '../../../local/event-source-runner';
import { ensureQueues } from '../../../local/queue-provisioning';
import { REDRIVE_POLICY_REASON } from '../../../shared/aws/dead-letters';
import { SqsQueues } from '../../../shared/aws/queues';
import { createSqsClient, DEAD_LETTER_ATTRIBUTES, REDRIVEN_FROM_ATTRIBUTE } from '../../../shared/aws/sqs';
import { SqsTransport } from '../../../shared/aws/sqs-transport';
import {
  type QueueStack,
  queueDepth,
  REGION,
  receiveAll,
  startQueueStack,
  uniqueQueueConfig,
} from './helpers';

let stack: QueueStack;

beforeAll(async () => {
  stack = await startQueueStack();
});

afterAll(async () => {
  await stack?.close();
});

async function attributesOf(url: string): Promise<Record<string, string>> {
  const { Attributes = {} } = await stack.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
  );
  return Attributes;
}

describe('ensureQueues', () => {
  it('creates both queues with their DLQs and redrive policies from infra/queues.json, idempotently', async () => {
    const config = uniqueQueueConfig();
    const first = await ensureQueues(stack.sqs, config);
    const second = await ensureQueues(stack.sqs, config);
    expect(second).toEqual(first);

    const onboarding = await attributesOf(first.onboarding.url);
    expect(JSON.parse(onboarding.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: first.onboarding.deadLetterArn,
      maxReceiveCount: 8,
    });
    expect(onboarding.VisibilityTimeout).toBe(String(queues.OnboardingQueue.VisibilityTimeout));
    expect(onboarding.MessageRetentionPeriod).toBe('1209600');
    expect(first.onboarding.deadLetterArn).toMatch(new RegExp(`:${config.onboardingDeadLetterQueue}$`));

    const reconcile = await attributesOf(first.reconcile.url);
    expect(JSON.parse(reconcile.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: first.reconcile.deadLetterArn,
      maxReceiveCount: 5,
    });
    expect(reconcile.VisibilityTimeout).toBe('960');
    expect((await attributesOf(first.reconcile.deadLetterUrl)).MessageRetentionPeriod).toBe('1209600');
  });

  it('brings an existing queue with other attributes in line instead of failing', async () => {
    const config = uniqueQueueConfig();
    await ensureQueues(stack.sqs, config);
    const changed = await ensureQueues(stack.sqs, config, {
      onboarding: { visibilityTimeoutSeconds: 1, maxReceiveCount: 2 },
    });
    const attributes = await attributesOf(changed.onboarding.url);
    expect(attributes.VisibilityTimeout).toBe('1');
    expect(JSON.parse(attributes.RedrivePolicy ?? '{}').maxReceiveCount).toBe(2);
  });

  it('accepts full queue URLs in the config', async () => {
    const names = uniqueQueueConfig();
    const created = await ensureQueues(stack.sqs, names);
    const byUrl = await ensureQueues(stack.sqs, {
      ...names,
      onboardingQueue: created.onboarding.url,
      onboardingDeadLetterQueue: created.onboarding.deadLetterUrl,
    });
    expect(byUrl.onboarding).toEqual(created.onboarding);
  });
});

describe('resolveQueueUrl', () => {
  it('looks names up, passes URLs through, and does not cache a failed lookup', async () => {
    const config = uniqueQueueConfig();
    const queues = new SqsQueues(stack.sqs);
    await expect(queues.resolveQueueUrl(config.reconcileQueue)).rejects.toThrow();
    const ensured = await ensureQueues(stack.sqs, config);
    await expect(queues.resolveQueueUrl(config.reconcileQueue)).resolves.toBe(ensured.reconcile.url);
    await expect(queues.resolveQueueUrl(ensured.reconcile.url)).resolves.toBe(ensured.reconcile.url);
  });
});

describe('sendBatch', () => {
  it('sends 25 messages in batches of 10 and reports each id with its SQS message id', async () => {
    const { onboarding } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    const messages = Array.from({ length: 25 }, (_, index) => ({
      id: `req-${index}`,
      body: JSON.stringify({ requestId: `req-${index}` }),
      attributes: { tenant: 't1' },
    }));
    const sent = await stack.queues.sendBatch(onboarding.url, messages);
    expect(sent.map((entry) => entry.id).sort()).toEqual(messages.map((message) => message.id).sort());
    expect(new Set(sent.map((entry) => entry.messageId)).size).toBe(25);

    const received = await receiveAll(stack.sqs, onboarding.url);
    expect(received.map((message) => message.Body).sort()).toEqual(
      messages.map((message) => message.body).sort(),
    );
    expect(received[0]?.MessageAttributes?.tenant).toEqual({ DataType: 'String', StringValue: 't1' });
  });

  it('rejects duplicate or malformed entry ids before sending anything', async () => {
    const { onboarding } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    await expect(
      stack.queues.sendBatch(onboarding.url, [
        { id: 'a', body: '1' },
        { id: 'a', body: '2' },
      ]),
    ).rejects.toThrow(/duplicate/);
    await expect(stack.queues.sendBatch(onboarding.url, [{ id: 'a b', body: '1' }])).rejects.toThrow(
      /invalid batch entry id/,
    );
    expect(await queueDepth(stack.sqs, onboarding.url)).toEqual({ visible: 0, inFlight: 0 });
  });
});

describe('dead letters', () => {
  it('sendToDeadLetter records why; the DLQ peek shows it and leaves the messages in place', async () => {
    const config = uniqueQueueConfig();
    const { onboarding } = await ensureQueues(stack.sqs, config);
    const firstReceivedAt = Date.now() - 5_000;
    await stack.queues.sendToDeadLetter(onboarding.deadLetterUrl, {
      body: JSON.stringify({ tenantId: 't1', requestId: 'r1' }),
      reason: 'invalid-message',
      detail: 'missing appInstanceArn',
      sourceQueue: config.onboardingQueue,
      receiveCount: 1,
      firstReceivedAt,
      messageAttributes: { tenant: { DataType: 'String', StringValue: 't1' } },
    });

    const [letter, ...others] = await stack.deadLetters.peek(onboarding.deadLetterUrl, 10);
    expect(others).toEqual([]);
    expect(letter).toMatchObject({
      reason: 'invalid-message',
      detail: 'missing appInstanceArn',
      sourceQueue: config.onboardingQueue,
      receiveCount: 1,
      receiveCountRecorded: true,
      body: JSON.stringify({ tenantId: 't1', requestId: 'r1' }),
    });
    expect(letter?.attributes[DEAD_LETTER_ATTRIBUTES.firstReceivedAt]).toBe(String(firstReceivedAt));
    expect(letter?.attributes.tenant).toBe('t1');
    expect(letter?.ageMs).toBeGreaterThanOrEqual(0);
    expect(letter?.ageMs).toBeLessThan(60_000);

    // Still there and visible: a second peek sees the same message, and the recorded count is unchanged
    // although SQS counted the peeks as receives.
    const again = await stack.deadLetters.peek(onboarding.deadLetterUrl, 10);
    expect(again.map((entry) => entry.messageId)).toEqual([letter?.messageId]);
    expect(again[0]?.receiveCount).toBe(1);
    expect(await queueDepth(stack.sqs, onboarding.deadLetterUrl)).toEqual({ visible: 1, inFlight: 0 });
  });

  it('reports messages moved by the redrive policy with the queue receive count', async () => {
    const { onboarding } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    await stack.sqs.send(new SendMessageCommand({ QueueUrl: onboarding.deadLetterUrl, MessageBody: 'x' }));
    const [letter] = await stack.deadLetters.peek(onboarding.deadLetterUrl, 5);
    expect(letter).toMatchObject({
      reason: REDRIVE_POLICY_REASON,
      receiveCount: 1,
      receiveCountRecorded: false,
    });
  });

  it('peeks at most max messages', async () => {
    const { reconcile } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    await stack.queues.sendBatch(
      reconcile.deadLetterUrl,
      Array.from({ length: 15 }, (_, index) => ({ body: `m${index}` })),
    );
    expect(await stack.deadLetters.peek(reconcile.deadLetterUrl, 12)).toHaveLength(12);
    expect(await queueDepth(stack.sqs, reconcile.deadLetterUrl)).toEqual({ visible: 15, inFlight: 0 });
  });

  it('redrive moves messages back with their body, own attributes and message group (tenant), and they are gone from the DLQ', async () => {
    const config = uniqueQueueConfig();
    const { onboarding } = await ensureQueues(stack.sqs, config);
    for (const requestId of ['r1', 'r2', 'r3']) {
      await stack.queues.sendToDeadLetter(onboarding.deadLetterUrl, {
        body: JSON.stringify({ requestId }),
        reason: 'chime-throttled',
        sourceQueue: config.onboardingQueue,
        receiveCount: 8,
        messageAttributes: { tenant: { DataType: 'String', StringValue: 't1' } },
        ...(requestId === 'r3' ? {} : { groupId: 't1' }),
      });
    }

    expect(await stack.deadLetters.redrive(onboarding.deadLetterUrl, onboarding.url, 2)).toBe(2);
    expect(await queueDepth(stack.sqs, onboarding.deadLetterUrl)).toEqual({ visible: 1, inFlight: 0 });
    expect(await stack.deadLetters.redrive(onboarding.deadLetterUrl, onboarding.url, 100)).toBe(1);
    expect(await stack.deadLetters.peek(onboarding.deadLetterUrl, 10)).toEqual([]);

    const back = await receiveAll(stack.sqs, onboarding.url);
    expect(back.map((message) => JSON.parse(message.Body ?? '{}').requestId).sort()).toEqual([
      'r1',
      'r2',
      'r3',
    ]);
    for (const message of back) {
      expect(Object.keys(message.MessageAttributes ?? {}).sort()).toEqual([
        REDRIVEN_FROM_ATTRIBUTE,
        'tenant',
      ]);
      expect(message.MessageAttributes?.[REDRIVEN_FROM_ATTRIBUTE]?.StringValue).toBe(
        config.onboardingDeadLetterQueue,
      );
      expect(message.Attributes?.ApproximateReceiveCount).toBe('1');
      // A request keeps its tenant through the DLQ and back; one sent without a group stays without.
      const { requestId } = JSON.parse(message.Body ?? '{}');
      expect(message.Attributes?.MessageGroupId).toBe(requestId === 'r3' ? undefined : 't1');
    }
  });

  it("the queue driver's transport keeps a record's tenant (message group) when it dead-letters or requeues it", async () => {
    const config = uniqueQueueConfig();
    const { onboarding } = await ensureQueues(stack.sqs, config);
    const transport = new SqsTransport(stack.queues, config);
    await stack.queues.sendBatch(onboarding.url, [{ body: '{"n":1}', groupId: 'acme' }]);
    const [message] = await receiveAll(stack.sqs, onboarding.url);
    const record = toSqsRecord(message as Message, { queueArn: onboarding.arn, region: REGION });
    expect(record.attributes.MessageGroupId).toBe('acme');
    await transport.requeue(record, 'onboarding', 0);
    await transport.deadLetter(record, 'onboarding', 'chime-throttled', 'retries ran out');
    const [copy] = await receiveAll(stack.sqs, onboarding.url);
    const [dead] = await receiveAll(stack.sqs, onboarding.deadLetterUrl);
    expect([copy?.Body, copy?.Attributes?.MessageGroupId]).toEqual(['{"n":1}', 'acme']);
    expect([dead?.Body, dead?.Attributes?.MessageGroupId]).toEqual(['{"n":1}', 'acme']);
  });

  it('refuses to redrive a queue into itself', async () => {
    const { onboarding } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    await expect(stack.deadLetters.redrive(onboarding.url, onboarding.url, 1)).rejects.toThrow(
      /source queue is the dead-letter queue/,
    );
  });
});

describe('createSqsClient', () => {
  it('works with fauxqs queue URLs when the endpoint comes from AWS_ENDPOINT_URL_SQS', async () => {
    const { onboarding } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    // The queue URL names a host that does not resolve; requests must still go to the configured endpoint.
    expect(new URL(onboarding.url).hostname).toBe(`sqs.${REGION}.localhost`);
    const fromEnv = createSqsClient({ region: REGION }, { AWS_ENDPOINT_URL_SQS: stack.server.url });
    try {
      await new SqsQueues(fromEnv).sendBatch(onboarding.url, [{ body: 'via env endpoint' }]);
    } finally {
      fromEnv.destroy();
    }
    expect((await receiveAll(stack.sqs, onboarding.url)).map((message) => message.Body)).toEqual([
      'via env endpoint',
    ]);
  });

  it('is needed: a default client follows the QueueUrl host, which does not resolve', async () => {
    const { onboarding } = await ensureQueues(stack.sqs, uniqueQueueConfig());
    const previous = process.env.AWS_ENDPOINT_URL_SQS;
    process.env.AWS_ENDPOINT_URL_SQS = stack.server.url;
    const silent = { debug() {}, info() {}, warn() {}, error() {} };
    const plain = new SQSClient({ region: REGION, logger: silent, maxAttempts: 1 });
    try {
      await expect(
        plain.send(new SendMessageCommand({ QueueUrl: onboarding.url, MessageBody: 'x' })),
      ).rejects.toThrow(/ENOTFOUND|EAI_AGAIN/);
    } finally {
      plain.destroy();
      if (previous === undefined) delete process.env.AWS_ENDPOINT_URL_SQS;
      else process.env.AWS_ENDPOINT_URL_SQS = previous;
    }
  });
});
