import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { backoff } from '../backoff';
import type { Config } from '../config';
import { LifecycleError } from '../errors';
import {
  QUEUE_KINDS,
  QUEUE_SETTINGS,
  type QueueKind,
  type QueueSettings,
  queueNamesOf,
} from '../queue-settings';

export interface EnsuredQueue {
  readonly url: string;
  readonly arn: string;
  readonly deadLetterUrl: string;
  readonly deadLetterArn: string;
}

// ---------------------------------------------------------------------------------------------------------
// Dead-letter attributes
// ---------------------------------------------------------------------------------------------------------

/** Message attributes this project adds; everything under this prefix is ours and dropped on redrive. */
export const ATTRIBUTE_PREFIX = 'chime-lifecycle.';
export const DEAD_LETTER_ATTRIBUTES = {
  reason: `${ATTRIBUTE_PREFIX}reason`,
  detail: `${ATTRIBUTE_PREFIX}detail`,
  sourceQueue: `${ATTRIBUTE_PREFIX}source-queue`,
  receiveCount: `${ATTRIBUTE_PREFIX}receive-count`,
  firstReceivedAt: `${ATTRIBUTE_PREFIX}first-received-at`,
  deadLetteredAt: `${ATTRIBUTE_PREFIX}dead-lettered-at`,
} as const;
/** Set on a redriven message, so a handler (or an operator) can tell a second attempt from a first. */
export const REDRIVEN_FROM_ATTRIBUTE = `${ATTRIBUTE_PREFIX}redriven-from`;

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
}

export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  /** Why it was dead-lettered; `max-receive-count-exceeded` when SQS's redrive policy moved it. */
  readonly reason: string;
  readonly detail?: string;
  readonly sourceQueue?: string;
  /**
   * Deliveries before it was dead-lettered, when we recorded that (`sendToDeadLetter`). Otherwise the
   * dead-letter queue's own ApproximateReceiveCount, which counts every peek (this one included), and on
   * fauxqs also the deliveries from the source queue.
   */
  readonly receiveCount: number;
  readonly receiveCountRecorded: boolean;
  /** SentTimestamp: for a message moved by the redrive policy, the time it entered the *source* queue. */
  readonly sentAt: Date;
  readonly ageMs: number;
  readonly deadLetteredAt?: Date;
  /** Message attributes as strings (Binary attributes as base64). */
  readonly attributes: Readonly<Record<string, string>>;
}

/** Reason reported for messages SQS moved to the DLQ by itself (they carry no reason attribute). */
export const REDRIVE_POLICY_REASON = 'max-receive-count-exceeded';

// ---------------------------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------------------------

export interface OutgoingMessage {
  /** Batch entry id (letters, digits, `-`, `_`; up to 80); unique within one `sendBatch` call. */
  readonly id?: string;
  readonly body: string;
  /** Plain strings become `String` attributes. */
  readonly attributes?: Readonly<Record<string, string | MessageAttributeValue>>;
  readonly delaySeconds?: number;
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
  /** Visibility timeout for messages held during a peek or a redrive; long enough to finish, short if we crash. */
  readonly holdSeconds?: number;
}

const DEFAULT_RETRY: RetryOptions = { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 2_000 };
const BATCH_LIMIT = 10;
/**
 * 256 KiB was the SQS batch payload limit until 2025 (now 1 MiB); staying under the old one keeps us
 * compatible with every emulator while costing nothing for our small messages.
 */
const BATCH_BYTES_LIMIT = 256 * 1024;
const ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * Asks for everything SQS can tell about a message. Both system-attribute parameters, because
 * local-aws-sqs honours only the deprecated `AttributeNames`.
 */
export function receiveEverything(): Pick<
  ReceiveMessageCommandInput,
  'AttributeNames' | 'MessageSystemAttributeNames' | 'MessageAttributeNames'
> {
  return { AttributeNames: ['All'], MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'] };
}

// ---------------------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------------------

/**
 * Builds the SQS client. Kept as the one function that does so, so that it can move into the composition
 * root as is.
 *
 * With a custom endpoint (an explicit one, `AWS_ENDPOINT_URL_SQS` or `AWS_ENDPOINT_URL`) we turn off
 * `useQueueUrlAsEndpoint`. SDK v3's queueUrl middleware (@aws-sdk/middleware-sdk-sqs) otherwise sends each
 * request to the *host of the QueueUrl* whenever no `endpoint` was passed to the constructor, and an
 * endpoint taken from the environment does not count as passed. Emulators hand out URLs whose host is not
 * the endpoint (fauxqs: `sqs.us-east-1.localhost:<port>`, which does not resolve here), so every call with
 * a QueueUrl would fail with ENOTFOUND. Against real AWS (no custom endpoint) the default is kept: queue
 * URLs and the regional endpoint agree, and a URL from another region still reaches its own region.
 */
export function createSqsClient(
  options: { readonly region: string; readonly endpoint?: string },
  env: Readonly<Record<string, string | undefined>> = process.env,
): SQSClient {
  const endpoint = options.endpoint ?? (env.AWS_ENDPOINT_URL_SQS?.trim() || env.AWS_ENDPOINT_URL?.trim());
  return new SQSClient(
    endpoint
      ? { region: options.region, endpoint, useQueueUrlAsEndpoint: false }
      : { region: options.region },
  );
}

// ---------------------------------------------------------------------------------------------------------
// Adapter
// ---------------------------------------------------------------------------------------------------------

/** The project's queues: creation, sending, dead-lettering and redrive. */
export class SqsQueues {
  readonly #sqs: SQSClient;
  readonly #retry: RetryOptions;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #holdSeconds: number;
  readonly #urls = new Map<string, Promise<string>>();
  readonly #maxReceiveCounts = new Map<string, Promise<number | undefined>>();

  constructor(sqs: SQSClient, options: SqsQueuesOptions = {}) {
    this.#sqs = sqs;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#holdSeconds = options.holdSeconds ?? 30;
  }

  /**
   * Creates every queue and its dead-letter queues if missing, and brings the attributes of existing
   * ones in line with infra/queues.json (plus `overrides`, which tests use for short timeouts). Safe to run
   * any number of times.
   */
  async ensureQueues(
    config: Config,
    overrides: Partial<Record<QueueKind, Partial<QueueSettings>>> = {},
  ): Promise<Record<QueueKind, EnsuredQueue>> {
    const ensured = await Promise.all(
      QUEUE_KINDS.map((kind) =>
        this.#ensurePair(queueNamesOf(config, kind), { ...QUEUE_SETTINGS[kind], ...overrides[kind] }),
      ),
    );
    const [onboarding, reconcile, activity] = ensured as [EnsuredQueue, EnsuredQueue, EnsuredQueue];
    return { onboarding, reconcile, activity };
  }

  async #ensurePair(
    names: { queue: string; deadLetterQueue: string },
    settings: QueueSettings,
  ): Promise<EnsuredQueue> {
    // For standard queues a message's retention counts from when it entered the *source* queue, so the DLQ
    // keeps messages at least as long as the source does, or they could expire on arrival.
    const deadLetterUrl = await this.#ensureQueue(queueNameOf(names.deadLetterQueue), {
      MessageRetentionPeriod: String(Math.max(settings.messageRetentionPeriodSeconds, 1_209_600)),
    });
    const deadLetterArn = await this.queueArn(deadLetterUrl);
    const url = await this.#ensureQueue(queueNameOf(names.queue), {
      VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(settings.messageRetentionPeriodSeconds),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: deadLetterArn,
        maxReceiveCount: settings.maxReceiveCount,
      }),
    });
    return { url, arn: await this.queueArn(url), deadLetterUrl, deadLetterArn };
  }

  async #ensureQueue(name: string, attributes: Record<string, string>): Promise<string> {
    let url: string;
    try {
      // Creating with the attributes makes a new queue complete from its first moment (no window without
      // its redrive policy).
      url = (await this.#sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes })))
        .QueueUrl as string;
    } catch (error) {
      // SQS refuses CreateQueue when the queue exists with different attributes; converge instead.
      if (!isSqsError(error, QUEUE_EXISTS_CODES)) throw error;
      url = (await this.#sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl as string;
      await this.#sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
    }
    this.#urls.set(name, Promise.resolve(url));
    return url;
  }

  async queueArn(queueUrl: string): Promise<string> {
    const { Attributes } = await this.#sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    const arn = Attributes?.QueueArn;
    if (!arn) throw new Error(`SQS returned no QueueArn for ${queueUrl}`);
    return arn;
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
            `could not send ${unsent.length} message(s) to ${queueUrl}: ${errorMessage(cause)} (ids: ${unsent.join(', ')})`,
            [
              ...failed,
              ...unsent.map((id) => ({
                id,
                code: 'RequestFailed',
                message: errorMessage(cause),
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
    const [sent] = await this.sendBatch(deadLetterUrl, [{ id: 'dead-letter', body: input.body, attributes }]);
    return (sent as SentMessage).messageId;
  }

  /**
   * Lists up to `max` dead-lettered messages without consuming them. SQS has no peek: we receive them with
   * a short visibility timeout (`holdSeconds`) and then make them visible again (visibility 0). So:
   * - a concurrent consumer of the DLQ cannot see them for that moment (and could see one twice after);
   * - every peek adds one to each message's ApproximateReceiveCount in the DLQ (on AWS, fauxqs and
   *   local-aws-sqs alike). That is why `sendToDeadLetter` records the source receive count in an attribute.
   * - a DLQ with a redrive policy of its own would count peeks towards it; ours have none.
   * With more than `max` messages waiting, which ones are returned is up to SQS.
   */
  async peekDeadLetters(deadLetterUrl: string, max: number): Promise<DeadLetter[]> {
    const held = await this.#receiveUpTo(deadLetterUrl, max);
    try {
      return held.map((message) => toDeadLetter(message, this.#now()));
    } finally {
      await this.#release(deadLetterUrl, held);
    }
  }

  /**
   * Moves up to `max` messages from a dead-letter queue back to its source queue and returns how many
   * moved. The body and the original attributes are kept; our reason attributes are dropped and
   * `chime-lifecycle.redriven-from` is added. A message is deleted from the DLQ only after SQS accepted the
   * copy, so none is ever lost; if the delete fails after the send, the message exists in both queues and
   * may be processed twice (at-least-once, which the consumers handle through idempotency).
   * Runs in rounds of 10: receive (held for `holdSeconds`), send, delete.
   * (On AWS, StartMessageMoveTask does this server-side; no emulator we can run implements it.)
   */
  async redrive(deadLetterUrl: string, sourceQueueUrl: string, max: number): Promise<number> {
    if (deadLetterUrl === sourceQueueUrl)
      throw new Error('redrive: the source queue is the dead-letter queue');
    const redrivenFrom = queueNameOf(deadLetterUrl);
    let moved = 0;
    while (moved < max) {
      const { Messages = [] } = await this.#sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: deadLetterUrl,
          MaxNumberOfMessages: Math.min(BATCH_LIMIT, max - moved),
          VisibilityTimeout: this.#holdSeconds,
          WaitTimeSeconds: 0,
          ...receiveEverything(),
        }),
      );
      if (Messages.length === 0) break;
      const byEntryId = new Map(Messages.map((message, index) => [`m${index}`, message]));
      let sentIds: Set<string>;
      let sendError: unknown;
      try {
        const sent = await this.sendBatch(
          sourceQueueUrl,
          [...byEntryId].map(([id, message]) => ({
            id,
            body: message.Body ?? '',
            attributes: { ...originalAttributes(message), [REDRIVEN_FROM_ATTRIBUTE]: text(redrivenFrom) },
          })),
        );
        sentIds = new Set(sent.map((entry) => entry.id));
      } catch (error) {
        if (!(error instanceof SendBatchError)) throw error;
        sentIds = new Set(error.sent.map((entry) => entry.id));
        sendError = error;
      }
      const sentMessages = [...byEntryId].filter(([id]) => sentIds.has(id)).map(([, message]) => message);
      const unsentMessages = [...byEntryId].filter(([id]) => !sentIds.has(id)).map(([, message]) => message);
      await this.#deleteAll(deadLetterUrl, sentMessages);
      moved += sentMessages.length;
      if (sendError) {
        await this.#release(deadLetterUrl, unsentMessages);
        throw new Error(`redrive stopped after moving ${moved} message(s): ${errorMessage(sendError)}`, {
          cause: sendError,
        });
      }
    }
    return moved;
  }

  async #receiveUpTo(queueUrl: string, max: number): Promise<Message[]> {
    const held = new Map<string, Message>();
    while (held.size < max) {
      const { Messages = [] } = await this.#sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(BATCH_LIMIT, max - held.size),
          VisibilityTimeout: this.#holdSeconds,
          WaitTimeSeconds: 0,
          ...receiveEverything(),
        }),
      );
      if (Messages.length === 0) break;
      for (const message of Messages) held.set(message.MessageId ?? message.ReceiptHandle ?? '', message);
    }
    return [...held.values()];
  }

  /** Makes held messages visible again. Best effort: if this fails they reappear after `holdSeconds`. */
  async #release(queueUrl: string, messages: readonly Message[]): Promise<void> {
    for (let start = 0; start < messages.length; start += BATCH_LIMIT) {
      const chunk = messages.slice(start, start + BATCH_LIMIT);
      await this.#sqs
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((message, index) => ({
              Id: `m${index}`,
              ReceiptHandle: message.ReceiptHandle,
              VisibilityTimeout: 0,
            })),
          }),
        )
        .catch(() => undefined);
    }
  }

  async #deleteAll(queueUrl: string, messages: readonly Message[]): Promise<void> {
    for (let start = 0; start < messages.length; start += BATCH_LIMIT) {
      const chunk = messages.slice(start, start + BATCH_LIMIT);
      const { Failed = [] } = await this.#sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((message, index) => ({ Id: `m${index}`, ReceiptHandle: message.ReceiptHandle })),
        }),
      );
      if (Failed.length > 0) {
        throw new Error(
          `sent to the source queue but could not delete ${Failed.length} message(s) from ${queueUrl} (they will be redriven again): ${Failed.map((failure) => failure.Message).join('; ')}`,
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers (exported where tests or other modules use them)
// ---------------------------------------------------------------------------------------------------------

/**
 * SQS speaks JSON but stays compatible with its old Query protocol: the SDK names an error after the
 * `x-amzn-query-error` header when present, so one condition has several names (AWS says
 * `QueueAlreadyExists` where fauxqs says `AWS.SimpleQueueService.QueueNameExists`). Match them all, and
 * never with `instanceof`, which only sees the JSON name.
 */
export function isSqsError(error: unknown, codes: readonly string[]): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { Code?: unknown }).Code;
  return codes.some((candidate) => error.name === candidate || code === candidate);
}

export const QUEUE_EXISTS_CODES = [
  'QueueNameExists',
  'QueueAlreadyExists',
  'AWS.SimpleQueueService.QueueNameExists',
] as const;
export const QUEUE_MISSING_CODES = [
  'QueueDoesNotExist',
  'NonExistentQueue',
  'AWS.SimpleQueueService.NonExistentQueue',
] as const;

export function isQueueUrl(nameOrUrl: string): boolean {
  return /^https?:\/\//i.test(nameOrUrl);
}

/** The queue name of a name or a queue URL (its last path segment). */
export function queueNameOf(nameOrUrl: string): string {
  if (!isQueueUrl(nameOrUrl)) return nameOrUrl;
  const segments = new URL(nameOrUrl).pathname.split('/').filter(Boolean);
  const name = segments.at(-1);
  if (!name) throw new Error(`not a queue URL: ${nameOrUrl}`);
  return name;
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

function text(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value };
}

function truncate(value: string, length: number): string {
  return value.length <= length ? value : `${value.slice(0, length - 1)}…`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The message's attributes minus ours, ready to send again. */
function originalAttributes(message: Message): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {})
      .filter(([name]) => !name.startsWith(ATTRIBUTE_PREFIX))
      .map(([name, value]) => [
        name,
        value.BinaryValue !== undefined
          ? { DataType: value.DataType, BinaryValue: value.BinaryValue }
          : { DataType: value.DataType, StringValue: value.StringValue },
      ]),
  );
}

/** Flattens a received message's attributes to strings (Binary as base64). */
export function attributeStrings(message: Message): Record<string, string> {
  return Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      value.StringValue ?? (value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : ''),
    ]),
  );
}

export function toDeadLetter(message: Message, now: number): DeadLetter {
  const attributes = attributeStrings(message);
  const sentAt = Number(message.Attributes?.SentTimestamp ?? now);
  const recorded = attributes[DEAD_LETTER_ATTRIBUTES.receiveCount];
  const deadLetteredAt = attributes[DEAD_LETTER_ATTRIBUTES.deadLetteredAt];
  const detail = attributes[DEAD_LETTER_ATTRIBUTES.detail];
  const sourceQueue = attributes[DEAD_LETTER_ATTRIBUTES.sourceQueue];
  return {
    messageId: message.MessageId ?? '',
    body: message.Body ?? '',
    reason: attributes[DEAD_LETTER_ATTRIBUTES.reason] ?? REDRIVE_POLICY_REASON,
    ...(detail !== undefined ? { detail } : {}),
    ...(sourceQueue !== undefined ? { sourceQueue } : {}),
    receiveCount: Number(recorded ?? message.Attributes?.ApproximateReceiveCount ?? 0),
    receiveCountRecorded: recorded !== undefined,
    sentAt: new Date(sentAt),
    ageMs: Math.max(0, now - sentAt),
    ...(deadLetteredAt !== undefined ? { deadLetteredAt: new Date(Number(deadLetteredAt)) } : {}),
    attributes,
  };
}
