import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { safeErrorText } from '../errors';
import { SendBatchError, type SqsQueues } from './queues';
import {
  attributeStrings,
  DEAD_LETTER_ATTRIBUTES,
  originalAttributes,
  queueNameOf,
  REDRIVEN_FROM_ATTRIBUTE,
  receiveEverything,
  text,
} from './sqs';

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

/** SQS receives at most 10 messages a call. */
const BATCH_LIMIT = 10;

/**
 * The operator's dead-letter tools (`chime-lifecycle dlq list` and `dlq redrive`), wired by the composition
 * root. Only operators use them; the Lambda functions never peek or redrive.
 */
export class DeadLetterTools {
  readonly #sqs: SQSClient;
  readonly #queues: SqsQueues;
  readonly #now: () => number;
  readonly #holdSeconds: number;

  constructor(
    sqs: SQSClient,
    queues: SqsQueues,
    options: {
      readonly now?: () => number;
      /** Visibility timeout for messages held during a peek or a redrive; long enough to finish, short if we crash. */
      readonly holdSeconds?: number;
    } = {},
  ) {
    this.#sqs = sqs;
    this.#queues = queues;
    this.#now = options.now ?? Date.now;
    this.#holdSeconds = options.holdSeconds ?? 30;
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
  async peek(deadLetterUrl: string, max: number): Promise<DeadLetter[]> {
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
        const sent = await this.#queues.sendBatch(
          sourceQueueUrl,
          [...byEntryId].map(([id, message]) => ({
            id,
            body: message.Body ?? '',
            attributes: { ...originalAttributes(message), [REDRIVEN_FROM_ATTRIBUTE]: text(redrivenFrom) },
            // Its tenant, on a fair queue: a redriven request is served as its tenant's, not as one of its own.
            ...(message.Attributes?.MessageGroupId ? { groupId: message.Attributes.MessageGroupId } : {}),
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
        throw new Error(`redrive stopped after moving ${moved} message(s): ${safeErrorText(sendError)}`, {
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
