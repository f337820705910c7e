import type { SQSRecord } from 'aws-lambda';
import type { Config } from '../config';
import { QUEUE_SETTINGS, type QueueKind, queueNamesOf } from '../queue-settings';
import type { QueueTransport } from './queue-driver';
import type { SqsQueues } from './queues';

/**
 * The runtime side of the queues, as the queue driver uses it: send to a queue, change a record's
 * visibility, dead-letter a record with its reason, and the receive limit that marks a last attempt.
 */
export class SqsTransport implements QueueTransport {
  readonly #maxReceives = new Map<QueueKind, Promise<number>>();

  constructor(
    private readonly queues: SqsQueues,
    private readonly config: Config,
  ) {}

  async send(kind: QueueKind, bodies: readonly unknown[]): Promise<void> {
    if (bodies.length === 0) return;
    const url = await this.queues.resolveQueueUrl(queueNamesOf(this.config, kind).queue);
    await this.queues.sendBatch(
      url,
      bodies.map((body) => ({ body: JSON.stringify(body) })),
    );
  }

  async changeVisibility(record: SQSRecord, kind: QueueKind, seconds: number): Promise<void> {
    const url = await this.queues.resolveQueueUrl(this.sourceOf(record, kind));
    await this.queues.changeVisibility(url, record.receiptHandle, seconds);
  }

  /**
   * A fresh copy of the record on the queue it came from: its body, attributes and message group (its
   * tenant on a fair queue), a new receive count.
   */
  async requeue(record: SQSRecord, kind: QueueKind, delaySeconds: number): Promise<void> {
    const url = await this.queues.resolveQueueUrl(this.sourceOf(record, kind));
    const attributes = Object.fromEntries(
      Object.entries(record.messageAttributes ?? {}).map(([name, value]) => [
        name,
        value.binaryValue === undefined
          ? { DataType: value.dataType, StringValue: value.stringValue }
          : { DataType: value.dataType, BinaryValue: Buffer.from(value.binaryValue, 'base64') },
      ]),
    );
    const groupId = record.attributes?.MessageGroupId;
    await this.queues.sendBatch(url, [
      { body: record.body, attributes, delaySeconds, ...(groupId ? { groupId } : {}) },
    ]);
  }

  /** The queue the record came from (its event source ARN's last part), else the configured one. */
  private sourceOf(record: SQSRecord, kind: QueueKind): string {
    return record.eventSourceARN?.split(':')[5] || queueNamesOf(this.config, kind).queue;
  }

  /**
   * Copies a record to its queue's DLQ at once, with the reason as attributes (the record is then reported
   * successful, so SQS deletes it: nothing is retried in a loop or lost).
   */
  async deadLetter(record: SQSRecord, kind: QueueKind, reason: string, detail: string): Promise<void> {
    const names = queueNamesOf(this.config, kind);
    const url = await this.queues.resolveQueueUrl(names.deadLetterQueue);
    const firstReceivedAt = Number(record.attributes?.ApproximateFirstReceiveTimestamp);
    const groupId = record.attributes?.MessageGroupId;
    await this.queues.sendToDeadLetter(url, {
      ...(groupId ? { groupId } : {}),
      body: record.body,
      reason,
      detail,
      sourceQueue: names.queue,
      receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? 1),
      ...(Number.isFinite(firstReceivedAt) ? { firstReceivedAt } : {}),
    });
  }

  /** The deployed queue's receive limit (its redrive policy), falling back to infra/queues.json. */
  maxReceiveCount(kind: QueueKind): Promise<number> {
    let count = this.#maxReceives.get(kind);
    if (!count) {
      const fallback = QUEUE_SETTINGS[kind].maxReceiveCount;
      count = this.queues
        .resolveQueueUrl(queueNamesOf(this.config, kind).queue)
        .then((url) => this.queues.maxReceiveCount(url))
        .then((deployed) => deployed ?? fallback)
        .catch(() => {
          this.#maxReceives.delete(kind);
          return fallback;
        });
      this.#maxReceives.set(kind, count);
    }
    return count;
  }
}
