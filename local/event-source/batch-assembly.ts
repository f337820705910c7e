import {
  ChangeMessageVisibilityBatchCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { receiveEverything } from '../../shared/aws/sqs';
import { toSqsRecord } from './lambda-event';
import {
  LAMBDA_MAX_PAYLOAD_BYTES,
  MAX_PARALLEL_RECEIVES,
  type Settings,
  SHORT_POLL_PAUSE_MS,
  SQS_MAX_BATCH,
  sleep,
} from './settings';

/**
 * Filling a batch as Lambda's pollers do: receives until the batch is full, the batching window closes or
 * the invoke payload would pass 6 MB; messages received past that limit are made visible again at once.
 */

/**
 * One long poll; then, with a batching window, more receives until the batch is full, the window closes or
 * the payload would pass Lambda's 6 MB. When many messages are missing, several receives run at once (each
 * asks for its share, so together they never take more than the batch has room for).
 */
export async function receiveBatch(settings: Settings, signal?: AbortSignal): Promise<Message[]> {
  const receive = async (max: number, waitTimeSeconds: number): Promise<Message[]> => {
    const { Messages = [] } = await settings.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: settings.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitTimeSeconds,
        ...receiveEverything(),
      }),
      signal ? { abortSignal: signal } : {},
    );
    return Messages;
  };
  const batch = new PayloadBudget(settings);
  batch.add(await receive(Math.min(settings.batchSize, SQS_MAX_BATCH), settings.waitTimeSeconds));
  if (batch.messages.length > 0 && settings.batchingWindowMs > 0) {
    const windowEnds = Date.now() + settings.batchingWindowMs;
    while (!batch.full && !signal?.aborted) {
      const remainingMs = windowEnds - Date.now();
      if (remainingMs <= 0) break;
      // A long poll never outlasts the window; in its last second, short polls with a pause between them.
      const waitTimeSeconds = Math.min(20, Math.floor(remainingMs / 1_000));
      const shares = receiveShares(settings.batchSize - batch.messages.length);
      const results = await Promise.allSettled(shares.map((share) => receive(share, waitTimeSeconds)));
      let failed = false;
      for (const result of results) {
        if (result.status === 'fulfilled') batch.add(result.value);
        else if (!signal?.aborted) {
          failed = true;
          settings.onError(result.reason, { phase: 'receive', messageIds: [] });
        }
      }
      // Stopping or a failed receive closes the window early; the messages already held still get invoked.
      if (failed) break;
      const gotNone = results.every((result) => result.status === 'fulfilled' && result.value.length === 0);
      if (gotNone && waitTimeSeconds === 0) {
        await sleep(Math.min(SHORT_POLL_PAUSE_MS, Math.max(0, windowEnds - Date.now())), signal);
      }
    }
  }
  await releaseMessages(settings, batch.overflow);
  return batch.messages;
}

/** How many messages each of the receives filling a batch asks for: 10 each, at most 10 receives at once. */
function receiveShares(missing: number): number[] {
  const shares: number[] = [];
  for (let left = missing; left > 0 && shares.length < MAX_PARALLEL_RECEIVES; left -= SQS_MAX_BATCH) {
    shares.push(Math.min(SQS_MAX_BATCH, left));
  }
  return shares;
}

/**
 * The messages of a batch in the making, with the size of the event Lambda would send. A message that
 * would take the event past 6 MB closes the batch and, with every message received after it, goes to
 * `overflow`.
 */
class PayloadBudget {
  readonly messages: Message[] = [];
  readonly overflow: Message[] = [];
  /** `{"Records":[]}` and the commas between records. */
  private bytes = Buffer.byteLength('{"Records":[]}');
  private closed = false;

  constructor(private readonly settings: Settings) {}

  get full(): boolean {
    return this.closed || this.messages.length >= this.settings.batchSize;
  }

  add(messages: readonly Message[]): void {
    for (const message of messages) {
      const source = { queueArn: this.settings.queueArn, region: this.settings.region };
      const size =
        Buffer.byteLength(JSON.stringify(toSqsRecord(message, source))) + (this.messages.length > 0 ? 1 : 0);
      // The first message always goes in: SQS caps a message at 1 MiB, so it cannot pass the limit alone.
      if (this.closed || (this.messages.length > 0 && this.bytes + size > LAMBDA_MAX_PAYLOAD_BYTES)) {
        this.closed = true;
        this.overflow.push(message);
        continue;
      }
      this.bytes += size;
      this.messages.push(message);
    }
  }
}

/**
 * Makes messages visible again at once (ChangeMessageVisibility 0): received past the payload limit, they
 * are not invoked now. Their receive was counted, as on Lambda; a failed release only delays them until
 * their visibility timeout ends.
 */
export async function releaseMessages(settings: Settings, messages: readonly Message[]): Promise<void> {
  const chunks: Message[][] = [];
  for (let start = 0; start < messages.length; start += SQS_MAX_BATCH) {
    chunks.push(messages.slice(start, start + SQS_MAX_BATCH));
  }
  // Never pass the abort signal: a release must happen even while stopping.
  await Promise.all(
    chunks.map(async (chunk) => {
      const messageIds = chunk.map((message) => message.MessageId ?? '?');
      try {
        const { Failed = [] } = await settings.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: settings.queueUrl,
            Entries: chunk.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle ?? '',
              VisibilityTimeout: 0,
            })),
          }),
        );
        if (Failed.length > 0) {
          settings.onError(
            new Error(`ChangeMessageVisibilityBatch failed: ${Failed.map((f) => f.Message).join('; ')}`),
            { phase: 'release', messageIds: Failed.map((failure) => messageIds[Number(failure.Id)] ?? '?') },
          );
        }
      } catch (error) {
        settings.onError(error, { phase: 'release', messageIds });
      }
    }),
  );
}
