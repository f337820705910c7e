import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { backoff } from '../backoff';
import { LifecycleError, safeErrorText } from '../errors';
import { ATTRIBUTE_PREFIX, DEAD_LETTER_ATTRIBUTES, isQueueUrl, text } from './sqs';

/**
 * The runtime queue adapter: resolve a queue, send in batches, change a message's visibility, copy a
 * message to a DLQ with its reason. The queue driver (via SqsTransport) and the CLI's `onboard` use it;
 * provisioning is in local/queue-provisioning.ts and the operator's peek and redrive in dead-letters.ts.
 */

/** SQS allows at most 10 message attributes per message. */
const MAX_MESSAGE_ATTRIBUTES = 10;
const MAX_DETAIL_LENGTH = 1_000;

export interface DeadLetterInput {
  readonly body: string;
  /** A short machine-readable code, e.g. `invalid-message`, `tenant-not-found`. */
  readonly reason: string;
  /** Human-readable explanation. Must not contain a user's Name or Metadata; it is shown by `dlq list`. */
  readonly detail?: string;
  /** Name or URL of the queue the message came from. */
  readonly sourceQueue: string;
  /** The message's ApproximateReceiveCount when it was given up on. */
  readonly receiveCount: number;
  /** Epoch milliseconds (the message's ApproximateFirstReceiveTimestamp). */
  readonly firstReceivedAt?: number;
  /** The original message attributes to carry over (at most 4, since ours take 6 of the 10 SQS allows). */
  readonly messageAttributes?: Readonly<Record<string, MessageAttributeValue>>;
  /** The original MessageGroupId (its tenant), kept so that a redrive sends it back as the same tenant. */
  readonly groupId?: string;
}

export interface OutgoingMessage {
  /** Batch entry id (letters, digits, `-`, `_`; up to 80); unique within one `sendBatch` call. */
  readonly id?: string;
  readonly body: string;
  /** Plain strings become `String` attributes. */
  readonly attributes?: Readonly<Record<string, string | MessageAttributeValue>>;
  readonly delaySeconds?: number;
  /**
   * The MessageGroupId. On a standard queue it names the message's tenant, and SQS delivers as a fair queue
   * (docs/onboarding.md, "Fairness"); on a FIFO queue it is the ordering group.
   */
  readonly groupId?: string;
}

export interface SentMessage {
  readonly id: string;
  readonly messageId: string;
}

export interface FailedEntry {
  readonly id: string;
  readonly code: string;
  readonly message: string;
  /** True when SQS blames the request (retrying will not help). */
  readonly senderFault: boolean;
}

/** Some messages of a `sendBatch` could not be sent; `sent` lists those that were. */
export class SendBatchError extends LifecycleError {
  override name = 'SendBatchError';
  constructor(
    message: string,
    readonly failed: readonly FailedEntry[],
    readonly sent: readonly SentMessage[],
    options: { cause?: unknown } = {},
  ) {
    // Retryable unless SQS blamed every failed entry on the request itself.
    super(message, { retryable: !failed.every((entry) => entry.senderFault), ...options });
  }
}

export interface RetryOptions {
  /** Attempts per message, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface SqsQueuesOptions {
  readonly retry?: Partial<RetryOptions>;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const DEFAULT_RETRY: RetryOptions = { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 2_000 };
const BATCH_LIMIT = 10;
/**
 * 256 KiB was the SQS batch payload limit until 2025 (now 1 MiB); staying under the old one keeps us
 * compatible with every emulator while costing nothing for our small messages.
 */
const BATCH_BYTES_LIMIT = 256 * 1024;
const ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;

/** The project's queues at run time: sending, visibility and dead-lettering. */
export class SqsQueues {
  readonly #sqs: SQSClient;
  readonly #retry: RetryOptions;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #urls = new Map<string, Promise<string>>();
  readonly #maxReceiveCounts = new Map<string, Promise<number | undefined>>();

  constructor(sqs: SQSClient, options: SqsQueuesOptions = {}) {
    this.#sqs = sqs;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * The queue's redrive `maxReceiveCount` as deployed (undefined without a redrive policy), read once and
   * cached: a consumer learns from it which delivery is a message's last.
   */
  maxReceiveCount(queueUrl: string): Promise<number | undefined> {
    let count = this.#maxReceiveCounts.get(queueUrl);
    if (!count) {
      count = this.#sqs
        .send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }))
        .then(({ Attributes }) => {
          const policy = Attributes?.RedrivePolicy;
          if (!policy) return undefined;
          const value = Number((JSON.parse(policy) as { maxReceiveCount?: unknown }).maxReceiveCount);
          return Number.isFinite(value) ? value : undefined;
        });
      count.catch(() => this.#maxReceiveCounts.delete(queueUrl));
      this.#maxReceiveCounts.set(queueUrl, count);
    }
    return count;
  }

  /** A full URL is returned as is; a name is looked up once (GetQueueUrl) and cached. */
  resolveQueueUrl(nameOrUrl: string): Promise<string> {
    if (isQueueUrl(nameOrUrl)) return Promise.resolve(nameOrUrl);
    let url = this.#urls.get(nameOrUrl);
    if (!url) {
      url = this.#sqs.send(new GetQueueUrlCommand({ QueueName: nameOrUrl })).then(({ QueueUrl }) => {
        if (!QueueUrl) throw new Error(`SQS returned no QueueUrl for ${nameOrUrl}`);
        return QueueUrl;
      });
      // A failed lookup (queue not created yet) must not stay cached.
      url.catch(() => this.#urls.delete(nameOrUrl));
      this.#urls.set(nameOrUrl, url);
    }
    return url;
  }

  /**
   * Sends the messages in batches of up to 10. Entries that SQS fails are retried with exponential backoff
   * and full jitter, up to `retry.maxAttempts` in all; entries SQS blames on the sender are not retried.
   * Throws a `SendBatchError` naming every entry that was not sent (and listing those that were).
   */
  async sendBatch(queueUrl: string, messages: readonly OutgoingMessage[]): Promise<SentMessage[]> {
    const entries = toBatchEntries(messages);
    const sent: SentMessage[] = [];
    const failed: FailedEntry[] = [];
    for (const chunk of chunkEntries(entries)) {
      let pending = chunk;
      for (let attempt = 1; pending.length > 0; attempt++) {
        let response: SendMessageBatchCommandOutput;
        try {
          response = await this.#sqs.send(
            new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }),
          );
        } catch (cause) {
          // The SDK has already retried the request itself; report what is left and stop.
          const unsent = [...pending, ...remainingAfter(entries, chunk)].map((entry) => entry.Id as string);
          throw new SendBatchError(
            `could not send ${unsent.length} message(s) to ${queueUrl}: ${safeErrorText(cause)} (ids: ${unsent.join(', ')})`,
            [
              ...failed,
              ...unsent.map((id) => ({
                id,
                code: 'RequestFailed',
                message: safeErrorText(cause),
                senderFault: false,
              })),
            ],
            sent,
            { cause },
          );
        }
        for (const ok of response.Successful ?? [])
          sent.push({ id: ok.Id as string, messageId: ok.MessageId as string });
        const retryable: SendMessageBatchRequestEntry[] = [];
        for (const entryFailure of response.Failed ?? []) {
          const entry = pending.find((candidate) => candidate.Id === entryFailure.Id);
          const failure: FailedEntry = {
            id: entryFailure.Id ?? '?',
            code: entryFailure.Code ?? 'Unknown',
            message: entryFailure.Message ?? '',
            senderFault: entryFailure.SenderFault ?? false,
          };
          if (entry && !failure.senderFault && attempt < this.#retry.maxAttempts) retryable.push(entry);
          else failed.push(failure);
        }
        pending = retryable;
        if (pending.length > 0)
          await this.#sleep(backoff(attempt, { base: this.#retry.baseDelayMs, cap: this.#retry.maxDelayMs }));
      }
    }
    if (failed.length > 0) {
      const summary = failed
        .map((failure) => `${failure.id} (${failure.code}: ${failure.message})`)
        .join(', ');
      throw new SendBatchError(
        `${failed.length} of ${entries.length} message(s) not sent to ${queueUrl} after up to ${this.#retry.maxAttempts} attempts: ${summary}`,
        failed,
        sent,
      );
    }
    return sent;
  }

  async changeVisibility(queueUrl: string, receiptHandle: string, seconds: number): Promise<void> {
    await this.#sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  }

  /**
   * Copies a message to the dead-letter queue at once, with attributes saying why. This is the path for
   * messages that can never succeed (invalid, unknown tenant): waiting for maxReceiveCount deliveries
   * would only spend Chime quota and delay the operator. The caller deletes the original afterwards.
   */
  async sendToDeadLetter(deadLetterUrl: string, input: DeadLetterInput): Promise<string> {
    const carried = Object.entries(input.messageAttributes ?? {}).filter(
      ([name]) => !name.startsWith(ATTRIBUTE_PREFIX),
    );
    const attributes: Record<string, MessageAttributeValue> = {
      [DEAD_LETTER_ATTRIBUTES.reason]: text(input.reason),
      [DEAD_LETTER_ATTRIBUTES.sourceQueue]: text(input.sourceQueue),
      [DEAD_LETTER_ATTRIBUTES.receiveCount]: { DataType: 'Number', StringValue: String(input.receiveCount) },
      [DEAD_LETTER_ATTRIBUTES.deadLetteredAt]: { DataType: 'Number', StringValue: String(this.#now()) },
    };
    if (input.detail)
      attributes[DEAD_LETTER_ATTRIBUTES.detail] = text(truncate(input.detail, MAX_DETAIL_LENGTH));
    if (input.firstReceivedAt !== undefined) {
      attributes[DEAD_LETTER_ATTRIBUTES.firstReceivedAt] = {
        DataType: 'Number',
        StringValue: String(input.firstReceivedAt),
      };
    }
    if (Object.keys(attributes).length + carried.length > MAX_MESSAGE_ATTRIBUTES) {
      throw new Error(
        `cannot dead-letter with ${carried.length} original attribute(s): SQS allows ${MAX_MESSAGE_ATTRIBUTES} in all and ${Object.keys(attributes).length} are needed for the reason`,
      );
    }
    for (const [name, value] of carried) attributes[name] = value;
    const [sent] = await this.sendBatch(deadLetterUrl, [
      {
        id: 'dead-letter',
        body: input.body,
        attributes,
        ...(input.groupId === undefined ? {} : { groupId: input.groupId }),
      },
    ]);
    return (sent as SentMessage).messageId;
  }
}

function toBatchEntries(messages: readonly OutgoingMessage[]): SendMessageBatchRequestEntry[] {
  const seen = new Set<string>();
  return messages.map((message, index) => {
    const id = message.id ?? `m${index}`;
    if (!ENTRY_ID.test(id))
      throw new Error(`invalid batch entry id "${id}": use letters, digits, - and _ (1-80)`);
    if (seen.has(id)) throw new Error(`duplicate batch entry id "${id}"`);
    seen.add(id);
    const entry: SendMessageBatchRequestEntry = { Id: id, MessageBody: message.body };
    if (message.delaySeconds !== undefined) entry.DelaySeconds = message.delaySeconds;
    if (message.groupId !== undefined) entry.MessageGroupId = message.groupId;
    if (message.attributes && Object.keys(message.attributes).length > 0) {
      entry.MessageAttributes = Object.fromEntries(
        Object.entries(message.attributes).map(([name, value]) => [
          name,
          typeof value === 'string' ? text(value) : value,
        ]),
      );
    }
    return entry;
  });
}

/** Splits entries into SendMessageBatch requests of at most 10 entries and BATCH_BYTES_LIMIT bytes. */
export function chunkEntries(
  entries: readonly SendMessageBatchRequestEntry[],
): SendMessageBatchRequestEntry[][] {
  const chunks: SendMessageBatchRequestEntry[][] = [];
  let current: SendMessageBatchRequestEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entrySize(entry);
    if (current.length > 0 && (current.length === BATCH_LIMIT || bytes + size > BATCH_BYTES_LIMIT)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function entrySize(entry: SendMessageBatchRequestEntry): number {
  let size = Buffer.byteLength(entry.MessageBody ?? '');
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '');
    size +=
      value.StringValue !== undefined
        ? Buffer.byteLength(value.StringValue)
        : (value.BinaryValue?.byteLength ?? 0);
  }
  return size;
}

function remainingAfter<T>(all: readonly T[], chunk: readonly T[]): T[] {
  const last = chunk.at(-1);
  return last === undefined ? [] : all.slice(all.indexOf(last) + 1);
}

function truncate(value: string, length: number): string {
  return value.length <= length ? value : `${value.slice(0, length - 1)}…`;
}
