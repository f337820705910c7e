import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type SqsServer, startSqsServer } from '../../../local/sqs-server';
import { DeadLetterTools } from '../../../shared/aws/dead-letters';
import { SqsQueues } from '../../../shared/aws/queues';
import { createSqsClient, receiveEverything } from '../../../shared/aws/sqs';
import { type Config, loadConfig } from '../../../shared/config';

/** Dummy credentials: fauxqs accepts any, and no test may reach a real AWS account. */
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

export const REGION = 'us-east-1';

export interface QueueStack {
  readonly server: SqsServer;
  readonly sqs: SQSClient;
  readonly queues: SqsQueues;
  readonly deadLetters: DeadLetterTools;
  close(): Promise<void>;
}

/** One fauxqs per test file, reached through the same client factory the CLI and the Lambdas use. */
export async function startQueueStack(): Promise<QueueStack> {
  const server = await startSqsServer({ port: 0 });
  const sqs = createSqsClient({ region: REGION, endpoint: server.url });
  const queues = new SqsQueues(sqs);
  return {
    server,
    sqs,
    queues,
    deadLetters: new DeadLetterTools(sqs, queues, { holdSeconds: 10 }),
    close: async () => {
      sqs.destroy();
      await server.close();
    },
  };
}

/** Queue names unique to one test, so tests in a file never see each other's messages. */
export function uniqueQueueConfig(): Config {
  const prefix = `q${randomUUID().slice(0, 8)}`;
  return loadConfig(
    { AWS_REGION: REGION },
    {
      onboardingQueue: `${prefix}-onboarding`,
      onboardingDeadLetterQueue: `${prefix}-onboarding-dlq`,
      reconcileQueue: `${prefix}-reconcile`,
      reconcileDeadLetterQueue: `${prefix}-reconcile-dlq`,
    },
  );
}

export interface QueueDepth {
  readonly visible: number;
  readonly inFlight: number;
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
  };
}

/** Receives (and so hides) everything visible in the queue. */
export async function receiveAll(sqs: SQSClient, queueUrl: string) {
  const all = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        ...receiveEverything(),
      }),
    );
    if (Messages.length === 0) return all;
    all.push(...Messages);
  }
}

/** Polls until `probe` returns a value other than undefined. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  { timeoutMs = 20_000, intervalMs = 50, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
