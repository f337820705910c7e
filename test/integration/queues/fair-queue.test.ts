import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SqsServer, startSqsServer } from '../../../local/sqs-server';
import { SqsQueues } from '../../../shared/aws/queues';
import { createSqsClient, receiveEverything } from '../../../shared/aws/sqs';
import { REGION } from './helpers';

/**
 * The local SQS server delivers a standard queue whose messages carry a MessageGroupId as AWS's fair queues
 * do (local/sqs-fair-queues.ts), through the real SQS API over HTTP: a quiet tenant's messages ahead of a
 * noisy tenant's backlog, with AWS's documented thresholds (more than 10% of the in-flight messages and at
 * least 30 of its own, or more than 10% of the recent processing time).
 */

let server: SqsServer;
let sqs: SQSClient;
let queues: SqsQueues;
let counter = 0;

beforeAll(async () => {
  server = await startSqsServer({ port: 0 });
  sqs = createSqsClient({ region: REGION, endpoint: server.url });
  queues = new SqsQueues(sqs);
});

afterAll(async () => {
  sqs?.destroy();
  await server?.close();
});

async function newQueue(): Promise<string> {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `fair-${++counter}`, Attributes: { VisibilityTimeout: '300' } }),
  );
  return QueueUrl as string;
}

/** `count` messages of `tenant` (bodies `<tenant>-<index>`), with the tenant as group id unless `grouped` is false. */
async function sendFrom(url: string, tenant: string, count: number, grouped = true): Promise<void> {
  await queues.sendBatch(
    url,
    Array.from({ length: count }, (_, index) => ({
      body: `${tenant}-${index}`,
      ...(grouped ? { groupId: tenant } : {}),
    })),
  );
}

async function receive(url: string, max = 10, client: SQSClient = sqs): Promise<Message[]> {
  const { Messages = [] } = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: 0,
      ...receiveEverything(),
    }),
  );
  return Messages;
}

/** Receives `count` messages (in receives of 10), keeping them in flight. */
async function hold(url: string, count: number, client: SQSClient = sqs): Promise<Message[]> {
  const held: Message[] = [];
  while (held.length < count) {
    const got = await receive(url, Math.min(10, count - held.length), client);
    if (got.length === 0) throw new Error(`only ${held.length} of ${count} messages to hold`);
    held.push(...got);
  }
  return held;
}

async function remove(url: string, messages: readonly Message[], client: SQSClient = sqs): Promise<void> {
  for (let start = 0; start < messages.length; start += 10) {
    await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: messages.slice(start, start + 10).map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle as string,
        })),
      }),
    );
  }
}

const bodies = (messages: readonly Message[]) => messages.map((message) => message.Body);

describe('fair queues offline (fauxqs with local/sqs-fair-queues.ts)', () => {
  it("delivers a quiet tenant's messages ahead of a noisy tenant's backlog", async () => {
    const url = await newQueue();
    await sendFrom(url, 'import', 200);
    // The importing tenant holds 40 in flight: 100% of the queue's in-flight messages and more than 30.
    await hold(url, 40);
    await sendFrom(url, 'signup', 3);
    const next = await receive(url);
    expect(bodies(next)).toEqual([
      'signup-0',
      'signup-1',
      'signup-2',
      ...Array.from({ length: 7 }, (_, index) => `import-${40 + index}`),
    ]);
    // Each message says its tenant, as SQS returns the MessageGroupId of a fair queue's message.
    expect(next.map((message) => message.Attributes?.MessageGroupId)).toEqual([
      'signup',
      'signup',
      'signup',
      ...Array.from({ length: 7 }, () => 'import'),
    ]);
  });

  it('without group ids the same sends are delivered in arrival order (a plain standard queue)', async () => {
    const url = await newQueue();
    await sendFrom(url, 'import', 200, false);
    await hold(url, 40);
    await sendFrom(url, 'signup', 3, false);
    expect(bodies(await receive(url))).toEqual(
      Array.from({ length: 10 }, (_, index) => `import-${40 + index}`),
    );
  });

  it('serves several noisy tenants by fewest messages in flight', async () => {
    const url = await newQueue();
    await sendFrom(url, 'big', 100);
    await hold(url, 60);
    await sendFrom(url, 'medium', 100);
    await hold(url, 35);
    // big: 60 in flight, medium: 35 (both over 30 and over 10% of 95): medium first, then each receive
    // evens out the counts.
    expect(bodies(await receive(url))).toEqual(
      Array.from({ length: 10 }, (_, index) => `medium-${35 + index}`),
    );
  });

  it('a noisy tenant stays noisy until its backlog drains or it sends nothing for the quiet period', async () => {
    // Short windows instead of AWS's 60 s of processing time and 5 minutes without sends.
    const short = await startSqsServer({
      port: 0,
      fairQueues: { thresholds: { processingWindowMs: 1_000, quietAfterMs: 4_000 } },
    });
    const client = createSqsClient({ region: REGION, endpoint: short.url });
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    try {
      const url = (
        await client.send(
          new CreateQueueCommand({ QueueName: 'sticky', Attributes: { VisibilityTimeout: '300' } }),
        )
      ).QueueUrl as string;
      const shortQueues = new SqsQueues(client);
      const send = (tenant: string, from: number, count: number) =>
        shortQueues.sendBatch(
          url,
          Array.from({ length: count }, (_, index) => ({
            body: `${tenant}-${from + index}`,
            groupId: tenant,
          })),
        );
      await send('import', 0, 80);
      // Noisy (40 in flight). Those 40 finish and the processing window passes: by the measures alone it is
      // quiet now, but it still has a backlog and sent within the quiet period, so it stays noisy.
      await remove(url, await hold(url, 40, client), client);
      await pause(1_500);
      await send('signup', 0, 1);
      const stillNoisy = await receive(url, 2, client);
      expect(bodies(stillNoisy)).toEqual(['signup-0', 'import-40']);
      await remove(url, stillNoisy, client);
      // Once it has sent nothing for the quiet period it is quiet again: arrival order.
      await pause(3_000);
      await send('signup', 1, 1);
      const quietAgain = await receive(url, 1, client);
      expect(bodies(quietAgain)).toEqual(['import-41']);
      await remove(url, quietAgain, client);
      // Drain everything. A noisy tenant whose backlog drains is released at once, although it sent a
      // moment ago: its next burst (after the processing window) is served in arrival order.
      for (let got = await receive(url, 10, client); got.length > 0; got = await receive(url, 10, client)) {
        await remove(url, got, client);
      }
      await send('import', 100, 40);
      await remove(url, await hold(url, 40, client), client);
      await pause(1_500);
      await send('import', 200, 1);
      await send('signup', 2, 1);
      expect(bodies(await receive(url, 2, client))).toEqual(['import-200', 'signup-2']);
    } finally {
      client.destroy();
      await short.close();
    }
  });

  it('returns a message handed back (visibility 0) to its place among its tenant', async () => {
    const url = await newQueue();
    await sendFrom(url, 'import', 100);
    const held = await hold(url, 40);
    await sendFrom(url, 'signup', 1);
    const first = held[0] as Message;
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: first.ReceiptHandle as string,
        VisibilityTimeout: 0,
      }),
    );
    const next = await receive(url, 2);
    expect(bodies(next)[0]).toBe('signup-0');
  });

  it('refuses an invalid MessageGroupId as SQS does', async () => {
    const url = await newQueue();
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageGroupId: 'a b' })),
    ).rejects.toThrow(/MessageGroupId/);
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageGroupId: 'g'.repeat(129) })),
    ).rejects.toThrow(/MessageGroupId/);
  });
});
