import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { z } from 'zod';
import {
  type BatchMessage,
  type DeadLettered,
  type Handled,
  QueueDriver,
  type QueueTransport,
  type RecordContext,
} from '../aws/queue-driver';
import type { InvalidBodyDescriber } from '../aws/queue-records';
import type { Config } from '../config';
import type { Log } from '../contracts/log';
import { asLog, createLogger, lambdaContext, MetricUnit } from '../observability';
import { type QueueKind, retryBackoffOf } from '../queue-settings';

/**
 * The one shape of an SQS function, as controller-runtime gives one shape to a reconciler: a function says
 * what it consumes (its queue and message schema), what to do with one message, and what to do when a
 * message's retries run out; `sqsFunction` builds the rest. Parsing (once), backoff, the last attempt, the
 * dead-letter queue, the invocation's deadline, logs and metrics are the driver's and the factory's, the
 * same for every consumer.
 */

/** What a function's callbacks get with each record: the driver's record context, the log and the metrics. */
export interface FunctionRecord<Message> extends RecordContext<Message> {
  readonly log: Log;
  readonly metrics: Metrics;
}

export interface SqsFunctionSpec<Message> {
  /** The function's name (its folder under functions/): the `function` key of its logs. */
  readonly name: string;
  /**
   * The function's metrics, `createMetrics(<its name>)` in its handler module: the package test reads each
   * function's metric dimension from that call, as it does for every handler.
   */
  readonly metrics: Metrics;
  /** The queue it consumes: its retry backoff (configuration) and its receive limit (redrive policy). */
  readonly queue: QueueKind;
  readonly schema: z.ZodType<Message>;
  /**
   * Does the work of one valid message: returns nothing when it is done, `{ retry: error }` (or throws) when
   * it should come back later, throws a TerminalError when it never can succeed (dead-lettered with its
   * reason). It never sees a receive count or a backoff.
   */
  readonly handle: (message: Message, record: FunctionRecord<Message>) => Promise<Handled>;
  /** What retries running out means (e.g. the run fails); called at the last receive, before the DLQ. */
  readonly onRetriesExhausted?: (
    message: Message,
    error: unknown,
    record: FunctionRecord<Message>,
  ) => Promise<void>;
  /** Told of every dead-lettered record (a rejection event); `Rejected` is counted by the factory. */
  readonly onDeadLettered?: (report: DeadLettered<Message>, log: Log) => Promise<void>;
  /** Why a body breaks the schema, from the issues of its one parse; default: `path: rule` per issue. */
  readonly describeInvalid?: InvalidBodyDescriber;
  /** Called at the start of each invocation (e.g. to register the Lambda context with idempotency). */
  readonly onInvocation?: (context: Context) => void;
  /** Middlewares after the logger and metrics ones (e.g. Chime attempt metrics, the quota lease's release). */
  readonly middlewares?: (instruments: {
    readonly logger: Logger;
    readonly metrics: Metrics;
  }) => readonly MiddlewareObj[];
  /**
   * Milliseconds kept back at the end of an invocation: below it the driver takes no new record and hands
   * back those still waiting. Default: a fifth of the invocation's time at its start (the function's
   * timeout), from 1 s to 60 s (`defaultDeadlineMarginMs`).
   */
  readonly deadlineMarginMs?: number;
  /**
   * The valid records of a batch its capacity cannot serve within `horizonMs` (until the deadline), as
   * message ids: handed back at once with a short visibility, the rest proceeds (e.g. onboarding: beyond
   * what each tenant's Chime create quota serves in that time). Default: none.
   */
  readonly beyondCapacity?: (
    batch: readonly BatchMessage<Message>[],
    horizonMs: number,
  ) => Promise<ReadonlySet<string>>;
}

/** What the factory takes from the composition root. */
export interface SqsFunctionRuntime {
  readonly config: Config;
  readonly transport: QueueTransport;
}

export type SqsFunctionHandler = middy.MiddyfiedHandler<SQSEvent, SQSBatchResponse, Error, Context>;

/**
 * Builds the Middy handler of an SQS function once per process (module scope): its logger (event logging
 * off), its metrics middleware (with `Rejected` for dead-lettered records, `Deferred` for records handed
 * back at the deadline and `DeferredBeyondCapacity` for those handed back at the start, beside what the
 * function counts itself), and the queue driver over the runtime's queues.
 */
export function sqsFunction<Message>(
  runtime: SqsFunctionRuntime,
  spec: SqsFunctionSpec<Message>,
): SqsFunctionHandler {
  const { metrics } = spec;
  const logger = createLogger(spec.name);
  const log = asLog(logger);
  const withInstruments = (record: RecordContext<Message>): FunctionRecord<Message> => ({
    ...record,
    log,
    metrics,
  });
  const { onRetriesExhausted, onDeadLettered } = spec;
  const driver = new QueueDriver<Message>({
    kind: spec.queue,
    schema: spec.schema,
    transport: runtime.transport,
    retry: retryBackoffOf(runtime.config, spec.queue),
    log,
    handle: (message, record) => spec.handle(message, withInstruments(record)),
    ...(onRetriesExhausted
      ? {
          onRetriesExhausted: (message, error, record) =>
            onRetriesExhausted(message, error, withInstruments(record)),
        }
      : {}),
    onDeadLettered: async (report) => {
      metrics.addMetric('Rejected', MetricUnit.Count, 1);
      await onDeadLettered?.(report, log);
    },
    onDeferred: (why) =>
      metrics.addMetric(why === 'deadline' ? 'Deferred' : 'DeferredBeyondCapacity', MetricUnit.Count, 1),
    ...(spec.describeInvalid ? { describeInvalid: spec.describeInvalid } : {}),
    ...(spec.beyondCapacity ? { beyondCapacity: spec.beyondCapacity } : {}),
    ...(spec.deadlineMarginMs === undefined ? {} : { deadlineMarginMs: spec.deadlineMarginMs }),
  });
  const handler = middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    spec.onInvocation?.(context);
    return driver.run(event, context);
  })
    .use(lambdaContext(logger))
    .use(logMetrics(metrics));
  for (const middleware of spec.middlewares?.({ logger, metrics }) ?? []) handler.use(middleware);
  return handler;
}
