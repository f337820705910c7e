import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { JSONStringified } from '@aws-lambda-powertools/parser/helpers';
import { SqsRecordSchema } from '@aws-lambda-powertools/parser/schemas/sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { z } from 'zod';
import { type VisibilityBackoff, visibilityDelaySeconds } from '../backoff';
import type { Log } from '../contracts/log';
import { safeErrorText, TerminalError } from '../errors';
import type { QueueKind } from '../queue-settings';

/** One delivery of a queue message, as a handler sees it. */
export interface Delivery {
  readonly messageId: string;
  /** SQS's ApproximateReceiveCount: 1 on the first delivery. */
  readonly attempt: number;
  /** True on the queue's last receive: a retryable failure now ends in the DLQ instead of coming back. */
  readonly finalAttempt: boolean;
  /** When the producer sent the message (SQS's SentTimestamp, epoch ms), if SQS said. */
  readonly sentAt?: number;
}

/** What the driver needs of the queues; shared/aws/queues.ts implements it over SQS. */
export interface QueueTransport {
  send(kind: QueueKind, bodies: readonly unknown[]): Promise<void>;
  changeVisibility(record: SQSRecord, kind: QueueKind, seconds: number): Promise<void>;
  deadLetter(record: SQSRecord, kind: QueueKind, reason: string, detail: string): Promise<void>;
  /** The deployed receive limit of the queue (its redrive policy). */
  maxReceiveCount(kind: QueueKind): Promise<number>;
}

/** A handler's answer for one message; nothing (or `done`) means processed, the message is deleted. */
export type Handled = undefined | { readonly retryAfterSeconds: number; readonly error: unknown };

export interface QueueDriverOptions<Message> {
  readonly kind: QueueKind;
  readonly schema: z.ZodType<Message>;
  readonly transport: QueueTransport;
  readonly retry: VisibilityBackoff;
  readonly log: Log;
  /** Processes one valid message; a TerminalError is dead-lettered at once, anything else retried. */
  readonly handle: (
    message: Message,
    delivery: Delivery,
    send: (bodies: readonly unknown[]) => Promise<void>,
  ) => Promise<Handled>;
  /** Why a body is invalid, without quoting it (bodies may hold personal data); default: describeInvalidBody. */
  readonly describeInvalid?: (body: string) => { readonly reason: string; readonly detail: string };
  /** Told after a message was dead-lettered (e.g. to publish a rejection event); its failure is only logged. */
  readonly onDeadLettered?: (body: string, delivery: Delivery, failure: TerminalError) => Promise<void>;
  readonly random?: () => number;
}

/** Thrown to fail a record: SQS delivers it again after the visibility delay the driver set. */
class RetryLater extends Error {
  override name = 'RetryLater';
}

/**
 * The one queue driver of both SQS consumers: a Powertools BatchProcessor whose record handler is the only
 * code that touches SQS. Per record it
 * - parses the body with its zod schema through the Powertools parser (SqsRecordSchema, JSONStringified);
 * - dead-letters at once, with reason attributes, whatever can never succeed (an invalid body, a
 *   TerminalError from the handler), and reports it processed, so it is not retried in a loop;
 * - on a retryable failure sets the message's visibility to a backoff on its receive count and fails only
 *   that record (ReportBatchItemFailures); on the queue's last receive it dead-letters it at once with
 *   reason `retries-exhausted` and the last error (the redrive policy stays as the backstop);
 * - gives the handler a `send` bound to the queue, for continuations.
 */
export class QueueDriver<Message> extends BatchProcessor {
  readonly #options: QueueDriverOptions<Message>;
  readonly #recordSchema;

  constructor(options: QueueDriverOptions<Message>) {
    super(EventType.SQS);
    this.#options = options;
    this.#recordSchema = SqsRecordSchema.extend({ body: JSONStringified(options.schema) });
  }

  /** Processes an SQS event into a partial batch response. */
  run(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    return processPartialResponse(event, (record: SQSRecord) => this.#record(record), this, {
      context,
      // A batch that failed entirely is still a well-formed partial response: every record is retried on
      // its own backoff, and the invocation does not count as a function error.
      throwOnFullBatchFailure: false,
    });
  }

  async #record(record: SQSRecord): Promise<void> {
    const { kind, transport, log } = this.#options;
    const attempt = Number(record.attributes?.ApproximateReceiveCount ?? 1);
    const maxReceives = await transport.maxReceiveCount(kind);
    const sentAt = Number(record.attributes?.SentTimestamp);
    const delivery: Delivery = {
      messageId: record.messageId,
      attempt,
      finalAttempt: attempt >= maxReceives,
      ...(Number.isFinite(sentAt) ? { sentAt } : {}),
    };
    const parsed = this.#recordSchema.safeParse(record);
    if (!parsed.success) {
      // A record Lambda itself built wrong is not the message's fault: fail it, it comes back.
      if (!SqsRecordSchema.safeParse(record).success) throw new Error('malformed SQS record');
      const invalid = (
        this.#options.describeInvalid ?? ((body) => describeInvalidBody(this.#options.schema, body))
      )(record.body);
      return this.#deadLetter(record, delivery, new TerminalError(invalid.reason, invalid.detail));
    }
    let handled: Handled;
    try {
      handled = await this.#options.handle(parsed.data.body as Message, delivery, (bodies) =>
        transport.send(kind, bodies),
      );
    } catch (error) {
      if (error instanceof TerminalError) return this.#deadLetter(record, delivery, error);
      handled = {
        retryAfterSeconds: visibilityDelaySeconds(attempt, this.#options.retry, this.#options.random),
        error,
      };
    }
    if (handled === undefined) return;
    const text = safeErrorText(handled.error);
    if (delivery.finalAttempt) {
      // Waiting out a backoff, or the queue's visibility timeout, would only delay what the redrive policy
      // does next: dead-letter it now, with the reason and the last error.
      return this.#deadLetter(
        record,
        delivery,
        new TerminalError('retries-exhausted', `failed on receive ${attempt}, the last: ${text}`),
      );
    }
    try {
      await transport.changeVisibility(record, kind, handled.retryAfterSeconds);
    } catch (visibilityError) {
      // The message still comes back, after the queue's own visibility timeout instead of the backoff.
      log.warn('could not set the retry delay of a message', {
        messageId: record.messageId,
        error: safeErrorText(visibilityError),
      });
    }
    log.warn('will be retried', {
      messageId: record.messageId,
      attempt,
      delaySeconds: handled.retryAfterSeconds,
      error: text,
    });
    throw new RetryLater(`retry in ${handled.retryAfterSeconds} s: ${text}`, { cause: handled.error });
  }

  async #deadLetter(record: SQSRecord, delivery: Delivery, failure: TerminalError): Promise<void> {
    const { kind, transport, log } = this.#options;
    // The DLQ copy is the durable record of the failure: if it fails, the record fails and comes back.
    await transport.deadLetter(record, kind, failure.reason, failure.detail);
    log.warn('message dead-lettered', {
      messageId: record.messageId,
      reason: failure.reason,
      detail: failure.detail,
    });
    try {
      await this.#options.onDeadLettered?.(record.body, delivery, failure);
    } catch (error) {
      // Failing the record now would dead-letter it a second time; the DLQ entry already says everything.
      log.error('could not report a dead-lettered message', {
        messageId: record.messageId,
        error: safeErrorText(error),
      });
    }
  }
}

/** The describer of a body that is not even JSON, or not what `schema` wants: paths and rules, never values. */
export function describeInvalidBody(schema: z.ZodType, body: string): { reason: string; detail: string } {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { reason: 'invalid-json', detail: 'the message body is not valid JSON' };
  }
  const result = schema.safeParse(value);
  const issues = result.success ? [] : result.error.issues;
  const detail = issues
    .slice(0, 5)
    .map(
      (issue) =>
        `${issue.path.join('.') || '(root)'}: ${issue.code === 'unrecognized_keys' ? 'unknown key(s)' : issue.message}`,
    )
    .join('; ');
  return { reason: 'invalid-message', detail: detail || 'the message does not match its schema' };
}
