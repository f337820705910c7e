/**
 * A local stand-in for Lambda's SQS event source mapping: long-polls a queue, invokes a handler with a
 * real-shaped `SQSEvent` and `Context`, and deletes messages exactly as AWS does.
 *
 * Why not serverless-offline-sqs (see /work/shared/research/offline-stack.md, pitfall 6): it ignores
 * `ReportBatchItemFailures` and deletes the *whole* batch after a successful invocation, so failed items
 * never come back and never reach the DLQ — the very behaviour our handlers rely on. It also fills batches
 * with repeated 5 s long polls (≥5 s latency per message), puts duplicates into a batch when the queue's
 * visibility timeout is short, and crashes when the queue does not exist yet. This runner is small enough
 * to read in one sitting and does what the AWS documentation says:
 * - success (void, null, `{}`, `{ batchItemFailures: [] }` or `null`): delete every message;
 * - `{ batchItemFailures: [{ itemIdentifier }] }`: delete all but the listed messages;
 * - an invalid response (an item without an itemIdentifier, an empty one, one not in the batch, a
 *   non-array list): the whole batch failed;
 * - the handler throws or runs past its timeout: delete nothing.
 * Messages not deleted stay invisible until their visibility timeout ends, come back with a higher
 * ApproximateReceiveCount, and the queue's redrive policy eventually moves them to the DLQ. Nothing here
 * changes the visibility of a message that was invoked, just as Lambda does not.
 *
 * Batches have Lambda's limits: batchSize 1..10,000, and above 10 only with a batching window of at least
 * 1 s (Lambda refuses the mapping otherwise, and so does `startEventSource`). A batch is gathered with
 * several ReceiveMessage calls (10 messages at most each, several at once when many are missing) until it
 * is full, the window closes or the invoke payload would pass Lambda's 6 MB limit; messages received past
 * that limit are made visible again at once (ChangeMessageVisibility 0), so they come back in a later batch
 * with one more receive counted.
 *
 * Differences from AWS worth knowing:
 * - a handler that times out keeps running in the background (a process cannot be frozen like a Lambda
 *   sandbox); its batch is treated as failed, as on AWS;
 * - `stop()` aborts the in-flight long poll. The emulator cannot see the abort, so a message arriving in
 *   the rest of that poll's wait can be received by nobody: it reappears after its visibility timeout with
 *   one receive counted. Real SQS can do the same with a dropped connection. Short `waitTimeSeconds`
 *   keeps the window small in tests.
 * - no scaling of pollers by queue depth: `concurrency` fixed loops, each receive → invoke → delete. A
 *   loop starts its next receive as soon as its invocation returned; that batch's deletes finish alongside
 *   (a batch counts as in flight until they have), and `stop()` waits for them.
 * - the batching window starts when the first message of a batch is received; a receive issued in the
 *   window's last second is a short poll, so a batch is invoked at most a few tens of ms after the window.
 * Like AWS, `startEventSource` refuses a queue whose visibility timeout is shorter than `timeoutMs`.
 */
import { receiveAndInvoke } from './event-source/invocation';
import { runPollers } from './event-source/pollers';
import { checkVisibilityCoversTimeout, resolveSettings } from './event-source/settings';
import type { BatchResult, EventSource, EventSourceOptions } from './event-source/types';

// The runner's parts, along its seams: local/event-source/ (settings, batch assembly and payload limit,
// invocation and deletes, the pollers' concurrency and pause gate, the Lambda event and context).
export { type BatchPlan, planBatch } from './event-source/batch-response';
export { HandlerTimeoutError, withTimeout } from './event-source/invocation';
export { createContext, parseQueueArn, toSqsEvent, toSqsRecord } from './event-source/lambda-event';
export { LAMBDA_MAX_PAYLOAD_BYTES } from './event-source/settings';
export type {
  BatchOutcome,
  BatchResult,
  ErrorPhase,
  EventSource,
  EventSourceOptions,
  EventSourceStats,
  SqsEventHandler,
} from './event-source/types';

/** Starts `concurrency` pollers on the queue. */
export async function startEventSource(options: EventSourceOptions): Promise<EventSource> {
  const settings = await resolveSettings(options);
  await checkVisibilityCoversTimeout(settings);
  return runPollers(settings);
}

/**
 * Receives one batch (waiting up to `waitTimeSeconds` for it, then filling it during the batching window),
 * invokes the handler once and deletes what succeeded. For tests that want to step through deliveries one
 * at a time.
 */
export async function pollOnce(options: EventSourceOptions, signal?: AbortSignal): Promise<BatchResult> {
  const invoked = await receiveAndInvoke(await resolveSettings(options), signal);
  return invoked ? await invoked.deletion : { outcome: 'empty', received: 0, deleted: [], retried: [] };
}
