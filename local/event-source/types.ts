import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';

/** The event source's public types (re-exported by local/event-source-runner.ts). */

// biome-ignore lint/suspicious/noConfusingVoidType: handlers that report nothing are `async () => {}`, as with aws-lambda's SQSHandler.
export type SqsEventHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

/** `release`: making messages past the payload limit visible again failed (they come back after their visibility timeout). */
export type ErrorPhase = 'receive' | 'handler' | 'response' | 'delete' | 'release';

export interface EventSourceOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /** Looked up with GetQueueAttributes when absent. */
  readonly queueArn?: string;
  readonly handler: SqsEventHandler;
  /** Messages per invocation, 1..10,000 (default 10); above 10 needs `maximumBatchingWindowSeconds` >= 1. */
  readonly batchSize?: number;
  /**
   * Keep receiving for up to this long to fill a batch (0..300, default 0: invoke with what one poll got).
   * As on Lambda, the batch is also invoked as soon as it is full or its payload reaches 6 MB.
   */
  readonly maximumBatchingWindowSeconds?: number;
  /** Long-poll wait per ReceiveMessage, 0..20 (default 20, as Lambda's pollers use). */
  readonly waitTimeSeconds?: number;
  /** Concurrent pollers, each one invocation at a time (default 1). */
  readonly concurrency?: number;
  readonly functionName?: string;
  /** The Lambda timeout: drives `context.getRemainingTimeInMillis()`; past it the batch failed. Default 30 s. */
  readonly timeoutMs?: number;
  /** The function's memory, as `context.memoryLimitInMB` reports it. Default 1024 MB. */
  readonly memoryMb?: number;
  /** Honour `batchItemFailures` (the `ReportBatchItemFailures` function response type). Default true. */
  readonly reportBatchItemFailures?: boolean;
  /** Called for every failure; the default prints one line on stderr. */
  readonly onError?: (error: unknown, info: { phase: ErrorPhase; messageIds: readonly string[] }) => void;
}

export type BatchOutcome = 'empty' | 'success' | 'partial' | 'failure';

export interface BatchResult {
  readonly outcome: BatchOutcome;
  readonly received: number;
  readonly deleted: readonly string[];
  readonly retried: readonly string[];
}

export interface EventSourceStats {
  readonly polls: number;
  readonly batches: number;
  readonly received: number;
  readonly deleted: number;
  /** Messages left on the queue to come back after their visibility timeout. */
  readonly retried: number;
  readonly handlerErrors: number;
  readonly invalidResponses: number;
  readonly inFlight: number;
}

export interface EventSource {
  /** Stops polling, lets the in-flight batches finish (handler and deletes), then resolves. */
  stop(): Promise<void>;
  /**
   * Resolves once no batch is in flight and the queue has looked empty for `idleMs` (an empty poll finished
   * after the last message was seen). Retries hidden by their visibility timeout are invisible to this:
   * choose `idleMs` above the queue's visibility timeout to wait for them as well.
   */
  drain(options?: { idleMs?: number; timeoutMs?: number }): Promise<void>;
  /**
   * Disables the mapping, as `UpdateEventSourceMapping --no-enabled` does: no poller starts another receive.
   * Resolves once every poller is parked: its receive in progress has returned (at most `waitTimeSeconds`
   * on an empty queue) and the batch it got, if any, has been invoked. Nothing is aborted, so no message is
   * left invisible. Messages sent after it resolves stay in the queue until `resume()`.
   */
  pause(): Promise<void>;
  /** Enables the mapping again: the pollers start receiving at once. */
  resume(): void;
  readonly stats: EventSourceStats;
}
