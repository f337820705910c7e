import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { z } from 'zod';
import { type VisibilityBackoff, visibilityDelaySeconds } from '../backoff';
import type { Log } from '../contracts/log';
import { safeErrorText, TerminalError } from '../errors';
import type { QueueKind } from '../queue-settings';
import {
  deferredVisibilitySeconds,
  describeInvalidBody,
  type InvalidBodyDescriber,
  invocationDeadline,
  isDeadlineAbort,
  type ParsedRecord,
  parseRecord,
} from './queue-records';

/** A valid message of the batch, parsed once. */
export interface BatchMessage<Message> {
  readonly messageId: string;
  readonly message: Message;
}

/** What a handler knows of the record it handles. No receive count, no backoff: those are the driver's. */
export interface RecordContext<Message> {
  readonly messageId: string;
  /** When the producer sent the message (SQS's SentTimestamp, epoch ms), if SQS said. */
  readonly sentAt?: number;
  /** Sends to the same queue (continuations). */
  send(bodies: readonly unknown[]): Promise<void>;
  /**
   * Aborts at the invocation's deadline. A handler passes it to what may wait (the Chime rate limiter):
   * a wait still going then gives up, and the driver hands the record back to the queue.
   */
  readonly deadline: AbortSignal;
  /** Milliseconds left in the invocation (Infinity without a Lambda clock). */
  remainingTimeMs(): number;
  /** Every valid message of this record's batch, for a handler that settles records together (activity). */
  readonly batch: readonly BatchMessage<Message>[];
}

/** What the driver needs of the queues; shared/aws/sqs-transport.ts implements it over SQS. */
export interface QueueTransport {
  send(kind: QueueKind, bodies: readonly unknown[]): Promise<void>;
  changeVisibility(record: SQSRecord, kind: QueueKind, seconds: number): Promise<void>;
  deadLetter(record: SQSRecord, kind: QueueKind, reason: string, detail: string): Promise<void>;
  /** Sends a fresh copy of the record (same body and attributes, a new receive count), delayed. */
  requeue(record: SQSRecord, kind: QueueKind, delaySeconds: number): Promise<void>;
  /** The deployed receive limit of the queue (its redrive policy). */
  maxReceiveCount(kind: QueueKind): Promise<number>;
}

/** A handler's answer: nothing means processed (the record is deleted); `retry` fails it, to come back. */
export type Handled = undefined | { readonly retry: unknown };

/** A record the driver dead-lettered, for whoever reports it (a rejection event, a metric). */
export interface DeadLettered<Message> {
  readonly failure: TerminalError;
  /** The parsed message; undefined when the body was invalid. */
  readonly message: Message | undefined;
  readonly messageId: string;
}

export interface QueueDriverOptions<Message> {
  readonly kind: QueueKind;
  readonly schema: z.ZodType<Message>;
  readonly transport: QueueTransport;
  /** The visibility backoff of a retried record, on its receive count. */
  readonly retry: VisibilityBackoff;
  readonly log: Log;
  /** Processes one valid message; a TerminalError is dead-lettered at once, anything else thrown retried. */
  readonly handle: (message: Message, record: RecordContext<Message>) => Promise<Handled>;
  /**
   * What retries running out means for the work (e.g. mark a run failed), called once, at the message's
   * last receive, before it is dead-lettered with `retries-exhausted`. Its failure is logged; the message
   * is dead-lettered all the same.
   */
  readonly onRetriesExhausted?: (
    message: Message,
    error: unknown,
    record: RecordContext<Message>,
  ) => Promise<void>;
  /** Told after a record was dead-lettered; its failure is only logged (the DLQ entry says everything). */
  readonly onDeadLettered?: (report: DeadLettered<Message>) => Promise<void>;
  /** Told of each record handed back, at the deadline or beyond its capacity (a metric). */
  readonly onDeferred?: (why: DeferralReason) => void;
  /**
   * The valid records of a batch that cannot be served before the invocation's deadline (e.g. beyond what
   * their tenant's Chime quota serves in that time), as message ids: they are handed back at once, as at the
   * deadline, and the rest of the batch proceeds. Called once per invocation that has a deadline, with the
   * milliseconds until it; a failure hands back nothing.
   */
  readonly beyondCapacity?: (
    batch: readonly BatchMessage<Message>[],
    horizonMs: number,
  ) => Promise<ReadonlySet<string>>;
  /** Why a body is invalid, from the issues of its one parse; default: describeInvalidBody. */
  readonly describeInvalid?: InvalidBodyDescriber;
  /**
   * When less than this is left of the invocation, the driver takes no new record and hands back every
   * record still waiting (see `RecordContext.deadline`) with a visibility of 2-4 s; at most half of the
   * invocation's time. Default: `defaultDeadlineMarginMs` of the time the invocation had at its start.
   */
  readonly deadlineMarginMs?: number;
  readonly random?: () => number;
}

/** Why a record was handed back: the invocation's deadline came, or its capacity said so at the start. */
export type DeferralReason = 'deadline' | 'capacity';

/** Thrown to fail a record: SQS delivers it again after the visibility the driver set. */
class RetryLater extends Error {
  override name = 'RetryLater';
}

interface Invocation<Message> {
  readonly parsed: ReadonlyMap<SQSRecord, ParsedRecord<Message>>;
  readonly batch: readonly BatchMessage<Message>[];
  readonly deadline: AbortSignal;
  readonly remainingTimeMs: () => number;
  /** Message ids handed back at the start: beyond what their capacity serves before the deadline. */
  readonly beyondCapacity: ReadonlySet<string>;
  readonly deferred: Record<DeferralReason, number>;
}

/**
 * The one queue driver of every SQS consumer: a Powertools BatchProcessor whose record handler is the only
 * code that touches SQS. Per record it
 * - parses it once: the envelope through the Powertools parser (SqsRecordSchema, JSONStringified), the body
 *   with its zod schema;
 * - dead-letters at once, with reason attributes, whatever can never succeed (an invalid body, a
 *   TerminalError from the handler), and reports it processed, so it is not retried in a loop;
 * - on a retryable failure sets the record's visibility to a backoff on its receive count and fails only
 *   that record (ReportBatchItemFailures); on the queue's last receive it calls `onRetriesExhausted` and
 *   dead-letters it with reason `retries-exhausted` and the last error (the redrive policy stays as the
 *   backstop);
 * - at the invocation's deadline hands back what has not started or still waits, with a short visibility
 *   (a fresh copy at its last receive, since a deferral is not a failure of the message), and at its start
 *   what the function's capacity cannot serve before that deadline (`beyondCapacity`);
 * - gives the handler a `send` bound to the queue, for continuations.
 */
export class QueueDriver<Message> extends BatchProcessor {
  readonly #options: QueueDriverOptions<Message>;

  constructor(options: QueueDriverOptions<Message>) {
    super(EventType.SQS);
    this.#options = options;
  }

  /** Processes an SQS event into a partial batch response. */
  async run(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    const { schema, describeInvalid = describeInvalidBody } = this.#options;
    const parsed = new Map(
      event.Records.map((record) => [record, parseRecord(record, schema, describeInvalid)]),
    );
    const batch = [...parsed].flatMap(([record, result]) =>
      result.kind === 'valid' ? [{ messageId: record.messageId, message: result.message }] : [],
    );
    const clock = typeof context?.getRemainingTimeInMillis === 'function' ? context : undefined;
    const deadline = invocationDeadline(clock?.getRemainingTimeInMillis(), this.#options.deadlineMarginMs);
    const invocation: Invocation<Message> = {
      parsed,
      batch,
      deadline: deadline.signal,
      remainingTimeMs: () => clock?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY,
      beyondCapacity: await this.#beyondCapacity(batch, clock, deadline.marginMs),
      deferred: { deadline: 0, capacity: 0 },
    };
    try {
      return await processPartialResponse(
        event,
        (record: SQSRecord) => this.#record(record, invocation),
        this,
        {
          context,
          // A batch that failed entirely is still a well-formed partial response: every record is retried on
          // its own backoff, and the invocation does not count as a function error.
          throwOnFullBatchFailure: false,
        },
      );
    } finally {
      deadline.clear();
      const { deferred } = invocation;
      if (deferred.deadline + deferred.capacity > 0) {
        this.#options.log.info('records handed back', {
          atDeadline: deferred.deadline,
          beyondCapacity: deferred.capacity,
          records: event.Records.length,
          marginMs: deadline.marginMs,
        });
      }
    }
  }

  /** What the function says it cannot serve before the deadline (nothing without a deadline or a hook). */
  async #beyondCapacity(
    batch: readonly BatchMessage<Message>[],
    clock: Pick<Context, 'getRemainingTimeInMillis'> | undefined,
    marginMs: number,
  ): Promise<ReadonlySet<string>> {
    const estimate = this.#options.beyondCapacity;
    if (!estimate || !clock || batch.length === 0) return new Set();
    try {
      return await estimate(batch, clock.getRemainingTimeInMillis() - marginMs);
    } catch (error) {
      // Only an estimate: without it every record runs, and the deadline still hands back what waits.
      this.#options.log.warn('could not estimate the capacity of the batch', { error: safeErrorText(error) });
      return new Set();
    }
  }

  async #record(record: SQSRecord, invocation: Invocation<Message>): Promise<void> {
    const { kind, transport } = this.#options;
    const parsed = invocation.parsed.get(record);
    // A record Lambda itself built wrong is not the message's fault: fail it, it comes back.
    if (parsed === undefined || parsed.kind === 'malformed') throw new Error('malformed SQS record');
    const attempt = Number(record.attributes?.ApproximateReceiveCount ?? 1);
    const finalAttempt = attempt >= (await transport.maxReceiveCount(kind));
    if (parsed.kind === 'invalid') return this.#deadLetter(record, attempt, parsed.failure, undefined);
    if (invocation.deadline.aborted) return this.#handBack(record, finalAttempt, invocation, 'deadline');
    if (invocation.beyondCapacity.has(record.messageId)) {
      return this.#handBack(record, finalAttempt, invocation, 'capacity');
    }
    const sentAt = Number(record.attributes?.SentTimestamp);
    const context: RecordContext<Message> = {
      messageId: record.messageId,
      ...(Number.isFinite(sentAt) ? { sentAt } : {}),
      send: (bodies) => transport.send(kind, bodies),
      deadline: invocation.deadline,
      remainingTimeMs: invocation.remainingTimeMs,
      batch: invocation.batch,
    };
    let handled: Handled;
    try {
      handled = await this.#options.handle(parsed.message, context);
    } catch (error) {
      if (error instanceof TerminalError) return this.#deadLetter(record, attempt, error, parsed.message);
      handled = { retry: error };
    }
    if (handled === undefined) return;
    if (isDeadlineAbort(handled.retry, invocation.deadline))
      return this.#handBack(record, finalAttempt, invocation, 'deadline');
    if (finalAttempt) return this.#retriesExhausted(record, attempt, parsed.message, handled.retry, context);
    return this.#retryLater(record, attempt, handled.retry);
  }

  async #retryLater(record: SQSRecord, attempt: number, error: unknown): Promise<never> {
    const { kind, transport, log } = this.#options;
    const delaySeconds = visibilityDelaySeconds(attempt, this.#options.retry, this.#options.random);
    const text = safeErrorText(error);
    try {
      await transport.changeVisibility(record, kind, delaySeconds);
    } catch (visibilityError) {
      // The message still comes back, after the queue's own visibility timeout instead of the backoff.
      log.warn('could not set the retry delay of a message', {
        messageId: record.messageId,
        error: safeErrorText(visibilityError),
      });
    }
    log.warn('will be retried', { messageId: record.messageId, attempt, delaySeconds, error: text });
    throw new RetryLater(`retry in ${delaySeconds} s: ${text}`, { cause: error });
  }

  /**
   * The last receive failed too. Waiting out a backoff, or the queue's visibility timeout, would only delay
   * what the redrive policy does next: say what it means, then dead-letter it now with the last error.
   */
  async #retriesExhausted(
    record: SQSRecord,
    attempt: number,
    message: Message,
    error: unknown,
    context: RecordContext<Message>,
  ): Promise<void> {
    try {
      await this.#options.onRetriesExhausted?.(message, error, context);
    } catch (callbackError) {
      this.#options.log.error('could not settle a message whose retries ran out', {
        messageId: record.messageId,
        error: safeErrorText(callbackError),
      });
    }
    const detail = `failed on receive ${attempt}, the last: ${safeErrorText(error)}`;
    return this.#deadLetter(record, attempt, new TerminalError('retries-exhausted', detail), message);
  }

  /**
   * Hands a record back (at the deadline, or at the start when beyond its capacity): visible again in 2-4 s,
   * its only cost the receive it used. At its last receive a failure would let the redrive policy
   * dead-letter a message that never failed, so a fresh copy takes its place instead (if even that send
   * fails, the record fails and the redrive policy decides).
   */
  async #handBack(
    record: SQSRecord,
    finalAttempt: boolean,
    invocation: Invocation<Message>,
    why: DeferralReason,
  ): Promise<void> {
    const { kind, transport, log } = this.#options;
    const seconds = deferredVisibilitySeconds(this.#options.random);
    invocation.deferred[why]++;
    this.#options.onDeferred?.(why);
    if (finalAttempt) return transport.requeue(record, kind, seconds);
    try {
      await transport.changeVisibility(record, kind, seconds);
    } catch (visibilityError) {
      log.warn('could not shorten the visibility of a message handed back', {
        messageId: record.messageId,
        error: safeErrorText(visibilityError),
      });
    }
    throw new RetryLater(
      `handed back (${why === 'deadline' ? 'at the invocation deadline' : 'beyond what its capacity serves before the deadline'}), visible again in ${seconds} s`,
    );
  }

  async #deadLetter(
    record: SQSRecord,
    attempt: number,
    failure: TerminalError,
    message: Message | undefined,
  ): Promise<void> {
    const { kind, transport, log } = this.#options;
    // The DLQ copy is the durable record of the failure: if it fails, the record fails and comes back.
    await transport.deadLetter(record, kind, failure.reason, failure.detail);
    log.warn('message dead-lettered', {
      messageId: record.messageId,
      attempt,
      reason: failure.reason,
      detail: failure.detail,
    });
    try {
      await this.#options.onDeadLettered?.({ failure, message, messageId: record.messageId });
    } catch (error) {
      // Failing the record now would dead-letter it a second time; the DLQ entry already says everything.
      log.error('could not report a dead-lettered message', {
        messageId: record.messageId,
        error: safeErrorText(error),
      });
    }
  }
}
