import { createServer, type Server, type Socket } from 'node:net';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEventSource, withTimeout } from '../../../local/event-source-runner';
import { ensureQueues } from '../../../local/queue-provisioning';
import { type SqsServer, startSqsServer } from '../../../local/sqs-server';
import { AWS_CLIENT_TIMEOUTS } from '../../../shared/aws/client-timeouts';
import { Runtime } from '../../../shared/composition-root';
import { uniqueConfig } from '../../support/stack';

/**
 * A dependency that stops answering (DynamoDB Local under SIGSTOP: connections are accepted, nothing comes
 * back) must fail the work, not hang it: the SDK clients give up on a silent connection, and an invocation
 * ends at its function's timeout, its message coming back after its visibility timeout. Nothing stays in
 * flight once the work is done.
 */

/** A TCP server that accepts every connection and never answers: a paused service. */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const settlesWithin = <T>(work: Promise<T>, ms: number) =>
  Promise.race([
    work.then(
      (value) => ({ settled: 'resolved' as const, value }),
      (error: unknown) => ({ settled: 'rejected' as const, error }),
    ),
    new Promise<{ settled: 'pending' }>((resolve) => setTimeout(() => resolve({ settled: 'pending' }), ms)),
  ]);

describe('a stalled dependency fails the work instead of hanging it', () => {
  let silent: Awaited<ReturnType<typeof silentServer>>;

  beforeAll(async () => {
    silent = await silentServer();
  });

  afterAll(async () => {
    await silent?.close();
  });

  it("the runtime's DynamoDB, SQS and EventBridge clients give up on a silent connection with a retryable TimeoutError", async () => {
    const runtime = new Runtime(uniqueConfig(), {
      endpoints: { dynamodb: silent.url, sqs: silent.url, eventbridge: silent.url },
      // The defaults (AWS_CLIENT_TIMEOUTS) scaled down, so the test takes seconds.
      clientTimeouts: { connectionTimeout: 500, socketTimeout: 300 },
    });
    try {
      const outcomes = await Promise.all(
        [
          runtime.dynamo.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'x' } } })),
          runtime.sqs.send(
            new SendMessageCommand({ QueueUrl: `${silent.url}/000000000000/q`, MessageBody: '{}' }),
          ),
          runtime.eventBridge.send(
            new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'd', Detail: '{}' }] }),
          ),
        ].map((call) => settlesWithin(call, 10_000)),
      );
      for (const outcome of outcomes) {
        expect(outcome.settled).toBe('rejected');
        expect((outcome as { error: Error }).error.name).toBe('TimeoutError');
      }
    } finally {
      runtime.destroy();
    }
    // What the runtime's clients get by default; an SDK client left without them waits on.
    expect(AWS_CLIENT_TIMEOUTS.socketTimeout).toBeGreaterThan(20_000);
    const bare = new DynamoDBClient({ region: 'us-east-1', endpoint: silent.url, maxAttempts: 1 });
    try {
      const outcome = await settlesWithin(
        bare.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'x' } } })),
        3_000,
      );
      expect(outcome.settled).toBe('pending');
    } finally {
      bare.destroy();
    }
  }, 30_000);

  describe('an invocation that hangs on it', () => {
    let sqs: SqsServer;
    let runtime: Runtime;

    beforeAll(async () => {
      sqs = await startSqsServer({ port: 0 });
      runtime = new Runtime(uniqueConfig(), { endpoints: { sqs: sqs.url } });
    });

    afterAll(async () => {
      runtime?.destroy();
      await sqs?.close();
    });

    it('ends at its timeout; the message comes back after its visibility timeout, is handled, and nothing stays in flight', async () => {
      const { reconcile } = await ensureQueues(runtime.sqs, runtime.config, {
        reconcile: { visibilityTimeoutSeconds: 2 },
      });
      await runtime.sqs.send(new SendMessageCommand({ QueueUrl: reconcile.url, MessageBody: '{"step":1}' }));
      const attempts: number[] = [];
      const errors: string[] = [];
      const source = await startEventSource({
        sqs: runtime.sqs,
        queueUrl: reconcile.url,
        queueArn: reconcile.arn,
        functionName: 'reconcile-tenant',
        timeoutMs: 500,
        waitTimeSeconds: 1,
        onError: (error) => errors.push(String(error)),
        // The first invocation waits on the stalled dependency far past its timeout; the second finds it back.
        handler: async (event: SQSEvent) => {
          attempts.push(Number(event.Records[0]?.attributes.ApproximateReceiveCount));
          if (attempts.length === 1) await new Promise((resolve) => setTimeout(resolve, 60_000).unref());
        },
      });
      try {
        const deadline = Date.now() + 20_000;
        while (attempts.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        await source.drain({ idleMs: 500, timeoutMs: 10_000 });
        expect(attempts).toEqual([1, 2]);
        expect(errors).toEqual([
          expect.stringMatching(/reconcile-tenant: Task timed out after 0\.50 seconds/),
        ]);
        expect(source.stats).toMatchObject({ deleted: 1, inFlight: 0 });
        const { Attributes } = await runtime.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: reconcile.url,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        expect(Attributes).toEqual({
          ApproximateNumberOfMessages: '0',
          ApproximateNumberOfMessagesNotVisible: '0',
        });
      } finally {
        await source.stop();
      }
    }, 40_000);

    it('every local invocation is bounded the same way (streams, rules and the schedule use it too)', async () => {
      const hung = new Promise<never>(() => {});
      await expect(withTimeout(hung, 50, 'policy-changed')).rejects.toThrow(
        'policy-changed: Task timed out after 0.05 seconds',
      );
      await expect(withTimeout(Promise.resolve('ok'), 50, 'policy-changed')).resolves.toBe('ok');
    });
  });
});
