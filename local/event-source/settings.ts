import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { parseQueueArn } from './lambda-event';
import type { ErrorPhase, EventSourceOptions, SqsEventHandler } from './types';

/**
 * The options of an event source checked against Lambda's limits, and the queue checks AWS makes when a
 * mapping is created (the queue's ARN, a visibility timeout covering the function timeout).
 */

/** What one ReceiveMessage or DeleteMessageBatch takes at most. */
export const SQS_MAX_BATCH = 10;
/** Lambda's largest batch for an SQS event source mapping (standard queues). */
export const LAMBDA_MAX_BATCH = 10_000;
/** Lambda's limit on a synchronous invocation's payload: the event JSON may not pass 6 MB. */
export const LAMBDA_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Receives in flight at once while filling one batch (each up to 10 messages). */
export const MAX_PARALLEL_RECEIVES = 10;
/** How long a batch waits between short polls in the window's last second when the queue looked empty. */
export const SHORT_POLL_PAUSE_MS = 50;

export interface Settings {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly accountId: string;
  readonly handler: SqsEventHandler;
  readonly batchSize: number;
  readonly batchingWindowMs: number;
  readonly waitTimeSeconds: number;
  readonly concurrency: number;
  readonly functionName: string;
  readonly timeoutMs: number;
  readonly memoryMb: number;
  readonly reportBatchItemFailures: boolean;
  readonly onError: (error: unknown, info: { phase: ErrorPhase; messageIds: readonly string[] }) => void;
}

export async function resolveSettings(options: EventSourceOptions): Promise<Settings> {
  const functionName = options.functionName ?? 'local-sqs-consumer';
  const named = (name: string) => `${functionName}: ${name}`;
  const batchSize = integerIn(named('batchSize'), options.batchSize ?? SQS_MAX_BATCH, 1, LAMBDA_MAX_BATCH);
  const window = integerIn(
    named('maximumBatchingWindowSeconds'),
    options.maximumBatchingWindowSeconds ?? 0,
    0,
    300,
  );
  if (batchSize > SQS_MAX_BATCH && window < 1) {
    throw new RangeError(
      `${functionName}: batchSize ${batchSize} needs maximumBatchingWindowSeconds of at least 1 (Lambda refuses a batch size over ${SQS_MAX_BATCH} without a batching window), got ${window}`,
    );
  }
  const waitTimeSeconds = integerIn(named('waitTimeSeconds'), options.waitTimeSeconds ?? 20, 0, 20);
  const concurrency = integerIn(named('concurrency'), options.concurrency ?? 1, 1, 1_000);
  const timeoutMs = integerIn(named('timeoutMs'), options.timeoutMs ?? 30_000, 1, 900_000);
  const queueArn = options.queueArn ?? (await lookUpQueueArn(options.sqs, options.queueUrl));
  const { region, accountId } = parseQueueArn(queueArn);
  return {
    sqs: options.sqs,
    queueUrl: options.queueUrl,
    queueArn,
    region,
    accountId,
    handler: options.handler,
    batchSize,
    batchingWindowMs: window * 1_000,
    waitTimeSeconds,
    concurrency,
    functionName,
    timeoutMs,
    memoryMb: integerIn(named('memoryMb'), options.memoryMb ?? 1_024, 128, 10_240),
    reportBatchItemFailures: options.reportBatchItemFailures ?? true,
    onError: options.onError ?? printError,
  };
}

// ---------------------------------------------------------------------------------------------------------

/**
 * AWS refuses to create a mapping whose queue visibility timeout is shorter than the function timeout,
 * because a message would reappear (and run twice) while its first invocation is still going. Refusing
 * here too keeps local runs from showing duplicates AWS would never produce.
 */
export async function checkVisibilityCoversTimeout(settings: Settings): Promise<void> {
  const { Attributes } = await settings.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: settings.queueUrl, AttributeNames: ['VisibilityTimeout'] }),
  );
  const visibilitySeconds = Number(Attributes?.VisibilityTimeout ?? Number.NaN);
  if (Number.isFinite(visibilitySeconds) && visibilitySeconds * 1_000 < settings.timeoutMs) {
    throw new RangeError(
      `Queue visibility timeout: ${visibilitySeconds} seconds is less than Function timeout: ${settings.timeoutMs / 1_000} seconds (${settings.queueUrl})`,
    );
  }
}

export async function lookUpQueueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  if (!Attributes?.QueueArn) throw new Error(`no QueueArn for ${queueUrl}`);
  return Attributes.QueueArn;
}

export function integerIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export function printError(error: unknown, info: { phase: ErrorPhase; messageIds: readonly string[] }): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `event source: ${info.phase} failed (${info.messageIds.length} message(s)): ${message}\n`,
  );
}
