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
import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { receiveEverything } from '../shared/aws/sqs';

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

/** What one ReceiveMessage or DeleteMessageBatch takes at most. */
const SQS_MAX_BATCH = 10;
/** Lambda's largest batch for an SQS event source mapping (standard queues). */
const LAMBDA_MAX_BATCH = 10_000;
/** Lambda's limit on a synchronous invocation's payload: the event JSON may not pass 6 MB. */
export const LAMBDA_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Receives in flight at once while filling one batch (each up to 10 messages). */
const MAX_PARALLEL_RECEIVES = 10;
/** How long a batch waits between short polls in the window's last second when the queue looked empty. */
const SHORT_POLL_PAUSE_MS = 50;

/** Starts `concurrency` pollers on the queue. */
export async function startEventSource(options: EventSourceOptions): Promise<EventSource> {
  const settings = await resolveSettings(options);
  await checkVisibilityCoversTimeout(settings);
  const abort = new AbortController();
  const counters = {
    polls: 0,
    batches: 0,
    received: 0,
    deleted: 0,
    retried: 0,
    handlerErrors: 0,
    invalidResponses: 0,
    inFlight: 0,
  };
  let lastMessageAt = Date.now();
  let lastEmptyPollAt = 0;
  /** Deletes of invoked batches still under way: a poller does not wait for them, `stop()` does. */
  const finishing = new Set<Promise<void>>();
  const hooks: BatchHooks = {
    onReceived: (count) => {
      counters.polls++;
      if (count === 0) {
        lastEmptyPollAt = Date.now();
        return;
      }
      counters.inFlight++;
      counters.received += count;
      lastMessageAt = Date.now();
    },
    onSettled: () => {
      counters.inFlight--;
      lastMessageAt = Date.now();
    },
    onProblem: (kind) => {
      if (kind === 'handler') counters.handlerErrors++;
      else counters.invalidResponses++;
    },
  };

  /** Set while paused (the mapping disabled): pollers park on it before their next receive. */
  let paused: { readonly resumed: Promise<void>; readonly resume: () => void } | undefined;
  let parked = 0;
  /** Woken whenever a poller parks, so that `pause()` (any number of calls at once) can tell when all have. */
  const parkedListeners = new Set<() => void>();
  const stopped = new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => resolve()));
  const park = async (): Promise<void> => {
    const gate = paused;
    if (!gate) return;
    parked++;
    for (const listener of parkedListeners) listener();
    await Promise.race([gate.resumed, stopped]);
    parked--;
  };
  const poller = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      await park();
      if (abort.signal.aborted) break;
      try {
        const invoked = await receiveAndInvoke(settings, abort.signal, hooks);
        if (!invoked) continue;
        const finished = invoked.deletion.then((result) => {
          counters.batches++;
          counters.deleted += result.deleted.length;
          counters.retried += result.retried.length;
        });
        finishing.add(finished);
        void finished.finally(() => finishing.delete(finished));
      } catch (error) {
        if (abort.signal.aborted) break;
        settings.onError(error, { phase: 'receive', messageIds: [] });
        await sleep(1_000, abort.signal);
      }
    }
  };
  const pollers = Array.from({ length: settings.concurrency }, () => poller());

  return {
    get stats(): EventSourceStats {
      return { ...counters };
    },
    async pause() {
      if (!paused) {
        let resume = () => {};
        const resumed = new Promise<void>((resolve) => {
          resume = resolve;
        });
        paused = { resumed, resume };
      }
      while (parked < settings.concurrency && !abort.signal.aborted) {
        let listener = () => {};
        const next = new Promise<void>((resolve) => {
          listener = resolve;
        });
        parkedListeners.add(listener);
        await Promise.race([next, stopped]);
        parkedListeners.delete(listener);
      }
    },
    resume() {
      const gate = paused;
      paused = undefined;
      gate?.resume();
    },
    async stop() {
      abort.abort();
      await Promise.all(pollers);
      // The pollers have stopped adding work, so this set only shrinks now.
      await Promise.all([...finishing]);
    },
    async drain({ idleMs = 500, timeoutMs = 60_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const now = Date.now();
        if (counters.inFlight === 0 && lastEmptyPollAt > lastMessageAt && now - lastMessageAt >= idleMs)
          return;
        if (abort.signal.aborted) throw new Error('drain: the event source was stopped');
        if (now > deadline) {
          throw new Error(
            `drain: ${settings.queueUrl} still busy after ${timeoutMs} ms (${JSON.stringify(counters)})`,
          );
        }
        await sleep(25);
      }
    },
  };
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

// ---------------------------------------------------------------------------------------------------------

interface Settings {
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
  readonly reportBatchItemFailures: boolean;
  readonly onError: (error: unknown, info: { phase: ErrorPhase; messageIds: readonly string[] }) => void;
}

async function resolveSettings(options: EventSourceOptions): Promise<Settings> {
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
    reportBatchItemFailures: options.reportBatchItemFailures ?? true,
    onError: options.onError ?? printError,
  };
}

interface BatchHooks {
  onReceived?(count: number): void;
  onProblem?(kind: 'handler' | 'response'): void;
  /** After a non-empty batch is finished (its deletes included), whatever happened. */
  onSettled?(): void;
}

/** An invoked batch whose successes are being deleted (wrapped: an awaited promise would wait for them). */
interface Invoked {
  readonly deletion: Promise<BatchResult>;
}

/**
 * Receives a batch and invokes the handler with it. Resolves once the invocation is over, with the
 * deletion of its successes still under way, or with undefined when nothing came.
 */
async function receiveAndInvoke(
  settings: Settings,
  signal?: AbortSignal,
  hooks: BatchHooks = {},
): Promise<Invoked | undefined> {
  const messages = await receiveBatch(settings, signal);
  hooks.onReceived?.(messages.length);
  if (messages.length === 0) return undefined;
  let invoked: Invoked;
  try {
    invoked = await invoke(settings, messages, hooks);
  } catch (error) {
    hooks.onSettled?.();
    throw error;
  }
  return { deletion: invoked.deletion.finally(() => hooks.onSettled?.()) };
}

/** Invokes the handler once; returns the deletion of the successes, started but not awaited. */
async function invoke(settings: Settings, messages: Message[], hooks: BatchHooks): Promise<Invoked> {
  const event = toSqsEvent(messages, { queueArn: settings.queueArn, region: settings.region });
  const messageIds = event.Records.map((record) => record.messageId);
  const context = createContext({
    functionName: settings.functionName,
    region: settings.region,
    accountId: settings.accountId,
    timeoutMs: settings.timeoutMs,
  });
  let plan: BatchPlan;
  try {
    const response = await withTimeout(
      settings.handler(event, context),
      settings.timeoutMs,
      settings.functionName,
    );
    plan = planBatch(messageIds, response, settings.reportBatchItemFailures);
    if (plan.problem) {
      hooks.onProblem?.('response');
      settings.onError(new Error(`invalid batch response: ${plan.problem}`), {
        phase: 'response',
        messageIds,
      });
    }
  } catch (error) {
    hooks.onProblem?.('handler');
    settings.onError(error, { phase: 'handler', messageIds });
    plan = { outcome: 'failure', deleteIds: [], retryIds: messageIds };
  }

  const outcome = plan.outcome;
  const deletion = deleteMessages(settings, event.Records, plan.deleteIds).then((deleted) => {
    const gone = new Set(deleted);
    const retried = messageIds.filter((id) => !gone.has(id));
    return { outcome, received: messages.length, deleted, retried };
  });
  return { deletion };
}

/**
 * One long poll; then, with a batching window, more receives until the batch is full, the window closes or
 * the payload would pass Lambda's 6 MB. When many messages are missing, several receives run at once (each
 * asks for its share, so together they never take more than the batch has room for).
 */
async function receiveBatch(settings: Settings, signal?: AbortSignal): Promise<Message[]> {
  const receive = async (max: number, waitTimeSeconds: number): Promise<Message[]> => {
    const { Messages = [] } = await settings.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: settings.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitTimeSeconds,
        ...receiveEverything(),
      }),
      signal ? { abortSignal: signal } : {},
    );
    return Messages;
  };
  const batch = new PayloadBudget(settings);
  batch.add(await receive(Math.min(settings.batchSize, SQS_MAX_BATCH), settings.waitTimeSeconds));
  if (batch.messages.length > 0 && settings.batchingWindowMs > 0) {
    const windowEnds = Date.now() + settings.batchingWindowMs;
    while (!batch.full && !signal?.aborted) {
      const remainingMs = windowEnds - Date.now();
      if (remainingMs <= 0) break;
      // A long poll never outlasts the window; in its last second, short polls with a pause between them.
      const waitTimeSeconds = Math.min(20, Math.floor(remainingMs / 1_000));
      const shares = receiveShares(settings.batchSize - batch.messages.length);
      const results = await Promise.allSettled(shares.map((share) => receive(share, waitTimeSeconds)));
      let failed = false;
      for (const result of results) {
        if (result.status === 'fulfilled') batch.add(result.value);
        else if (!signal?.aborted) {
          failed = true;
          settings.onError(result.reason, { phase: 'receive', messageIds: [] });
        }
      }
      // Stopping or a failed receive closes the window early; the messages already held still get invoked.
      if (failed) break;
      const gotNone = results.every((result) => result.status === 'fulfilled' && result.value.length === 0);
      if (gotNone && waitTimeSeconds === 0) {
        await sleep(Math.min(SHORT_POLL_PAUSE_MS, Math.max(0, windowEnds - Date.now())), signal);
      }
    }
  }
  await releaseMessages(settings, batch.overflow);
  return batch.messages;
}

/** How many messages each of the receives filling a batch asks for: 10 each, at most 10 receives at once. */
function receiveShares(missing: number): number[] {
  const shares: number[] = [];
  for (let left = missing; left > 0 && shares.length < MAX_PARALLEL_RECEIVES; left -= SQS_MAX_BATCH) {
    shares.push(Math.min(SQS_MAX_BATCH, left));
  }
  return shares;
}

/**
 * The messages of a batch in the making, with the size of the event Lambda would send. A message that
 * would take the event past 6 MB closes the batch and, with every message received after it, goes to
 * `overflow`.
 */
class PayloadBudget {
  readonly messages: Message[] = [];
  readonly overflow: Message[] = [];
  /** `{"Records":[]}` and the commas between records. */
  private bytes = Buffer.byteLength('{"Records":[]}');
  private closed = false;

  constructor(private readonly settings: Settings) {}

  get full(): boolean {
    return this.closed || this.messages.length >= this.settings.batchSize;
  }

  add(messages: readonly Message[]): void {
    for (const message of messages) {
      const source = { queueArn: this.settings.queueArn, region: this.settings.region };
      const size =
        Buffer.byteLength(JSON.stringify(toSqsRecord(message, source))) + (this.messages.length > 0 ? 1 : 0);
      // The first message always goes in: SQS caps a message at 1 MiB, so it cannot pass the limit alone.
      if (this.closed || (this.messages.length > 0 && this.bytes + size > LAMBDA_MAX_PAYLOAD_BYTES)) {
        this.closed = true;
        this.overflow.push(message);
        continue;
      }
      this.bytes += size;
      this.messages.push(message);
    }
  }
}

/**
 * Makes messages visible again at once (ChangeMessageVisibility 0): received past the payload limit, they
 * are not invoked now. Their receive was counted, as on Lambda; a failed release only delays them until
 * their visibility timeout ends.
 */
async function releaseMessages(settings: Settings, messages: readonly Message[]): Promise<void> {
  const chunks: Message[][] = [];
  for (let start = 0; start < messages.length; start += SQS_MAX_BATCH) {
    chunks.push(messages.slice(start, start + SQS_MAX_BATCH));
  }
  // Never pass the abort signal: a release must happen even while stopping.
  await Promise.all(
    chunks.map(async (chunk) => {
      const messageIds = chunk.map((message) => message.MessageId ?? '?');
      try {
        const { Failed = [] } = await settings.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: settings.queueUrl,
            Entries: chunk.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle ?? '',
              VisibilityTimeout: 0,
            })),
          }),
        );
        if (Failed.length > 0) {
          settings.onError(
            new Error(`ChangeMessageVisibilityBatch failed: ${Failed.map((f) => f.Message).join('; ')}`),
            { phase: 'release', messageIds: Failed.map((failure) => messageIds[Number(failure.Id)] ?? '?') },
          );
        }
      } catch (error) {
        settings.onError(error, { phase: 'release', messageIds });
      }
    }),
  );
}

/** Deletes the given messages; returns the ids actually deleted (a failed delete means a redelivery). */
async function deleteMessages(
  settings: Settings,
  records: readonly SQSRecord[],
  ids: readonly string[],
): Promise<string[]> {
  const wanted = new Set(ids);
  const toDelete = records.filter((record) => wanted.has(record.messageId));
  const chunks: SQSRecord[][] = [];
  for (let start = 0; start < toDelete.length; start += SQS_MAX_BATCH) {
    chunks.push(toDelete.slice(start, start + SQS_MAX_BATCH));
  }
  // One request per 10 records, all at once; never pass the abort signal: a finished batch must be deleted
  // even while stopping.
  const deletedPerChunk = await Promise.all(
    chunks.map(async (chunk) => {
      const deleted: string[] = [];
      try {
        const { Successful = [], Failed = [] } = await settings.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: settings.queueUrl,
            Entries: chunk.map((record, index) => ({
              Id: String(index),
              ReceiptHandle: record.receiptHandle,
            })),
          }),
        );
        for (const ok of Successful) {
          const record = chunk[Number(ok.Id)];
          if (record) deleted.push(record.messageId);
        }
        if (Failed.length > 0) {
          const failedIds = Failed.map((failure) => chunk[Number(failure.Id)]?.messageId ?? '?');
          settings.onError(
            new Error(`DeleteMessageBatch failed: ${Failed.map((f) => f.Message).join('; ')}`),
            { phase: 'delete', messageIds: failedIds },
          );
        }
      } catch (error) {
        settings.onError(error, { phase: 'delete', messageIds: chunk.map((record) => record.messageId) });
      }
      return deleted;
    }),
  );
  return deletedPerChunk.flat();
}

// ---------------------------------------------------------------------------------------------------------
// Pure parts
// ---------------------------------------------------------------------------------------------------------

export interface BatchPlan {
  readonly outcome: Exclude<BatchOutcome, 'empty'>;
  readonly deleteIds: readonly string[];
  readonly retryIds: readonly string[];
  /** Why the response made the whole batch fail. */
  readonly problem?: string;
}

/**
 * What Lambda does with a handler's response, per "Reporting batch item failures" in the Lambda developer
 * guide: null/undefined/`{}`/a null or empty `batchItemFailures` → complete success; a failure entry with
 * a missing, empty or unknown `itemIdentifier` (or anything that is not the documented shape) → complete
 * failure; otherwise delete everything not listed.
 */
export function planBatch(
  messageIds: readonly string[],
  response: unknown,
  reportBatchItemFailures = true,
): BatchPlan {
  const success: BatchPlan = { outcome: 'success', deleteIds: messageIds, retryIds: [] };
  const failure = (problem: string): BatchPlan => ({
    outcome: 'failure',
    deleteIds: [],
    retryIds: messageIds,
    problem,
  });
  if (!reportBatchItemFailures || response === undefined || response === null) return success;
  if (typeof response !== 'object' || Array.isArray(response))
    return failure('the response is not an object');
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return success;
  if (!Array.isArray(failures)) return failure('batchItemFailures is not an array');
  const inBatch = new Set(messageIds);
  const failed = new Set<string>();
  for (const item of failures) {
    const identifier = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof identifier !== 'string' || identifier === '') {
      return failure(`a batchItemFailures entry has no itemIdentifier: ${JSON.stringify(item)}`);
    }
    if (!inBatch.has(identifier))
      return failure(`itemIdentifier ${identifier} is not a message of this batch`);
    failed.add(identifier);
  }
  if (failed.size === 0) return success;
  return {
    outcome: failed.size === messageIds.length ? 'failure' : 'partial',
    deleteIds: messageIds.filter((id) => !failed.has(id)),
    retryIds: messageIds.filter((id) => failed.has(id)),
  };
}

/** The event Lambda builds from received messages (same field names and value shapes). */
export function toSqsEvent(
  messages: readonly Message[],
  source: { queueArn: string; region: string },
): SQSEvent {
  return { Records: messages.map((message) => toSqsRecord(message, source)) };
}

export function toSqsRecord(message: Message, source: { queueArn: string; region: string }): SQSRecord {
  const system = message.Attributes ?? {};
  const record: SQSRecord = {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ...system,
      ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
      SentTimestamp: system.SentTimestamp ?? '',
      SenderId: system.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? '',
    },
    messageAttributes: toLambdaAttributes(message),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: source.queueArn,
    awsRegion: source.region,
  };
  if (message.MD5OfMessageAttributes) record.md5OfMessageAttributes = message.MD5OfMessageAttributes;
  return record;
}

/** SQS API attributes (`StringValue`, `BinaryValue` bytes) → Lambda's (`stringValue`, base64 `binaryValue`). */
function toLambdaAttributes(message: Message): SQSMessageAttributes {
  const attributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    attributes[name] = {
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
        : {}),
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((bytes) => Buffer.from(bytes).toString('base64')),
      dataType: value.DataType ?? 'String',
    };
  }
  return attributes;
}

export function createContext(input: {
  functionName: string;
  region: string;
  accountId: string;
  timeoutMs: number;
  now?: () => number;
}): Context {
  const now = input.now ?? Date.now;
  const deadline = now() + input.timeoutMs;
  const unsupported = (): never => {
    throw new Error('context.done/fail/succeed are not supported: return a promise from the handler');
  };
  const day = new Date(now()).toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: input.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${input.region}:${input.accountId}:function:${input.functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${input.functionName}`,
    logStreamName: `${day}/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

export function parseQueueArn(arn: string): { region: string; accountId: string; name: string } {
  const [prefix, partition, service, region, accountId, name] = arn.split(':');
  if (prefix !== 'arn' || !partition || service !== 'sqs' || !region || !accountId || !name) {
    throw new Error(`not an SQS queue ARN: ${arn}`);
  }
  return { region, accountId, name };
}

// ---------------------------------------------------------------------------------------------------------

/**
 * AWS refuses to create a mapping whose queue visibility timeout is shorter than the function timeout,
 * because a message would reappear (and run twice) while its first invocation is still going. Refusing
 * here too keeps local runs from showing duplicates AWS would never produce.
 */
async function checkVisibilityCoversTimeout(settings: Settings): Promise<void> {
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

async function lookUpQueueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  if (!Attributes?.QueueArn) throw new Error(`no QueueArn for ${queueUrl}`);
  return Attributes.QueueArn;
}

export class HandlerTimeoutError extends Error {
  override name = 'HandlerTimeoutError';
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number, functionName: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new HandlerTimeoutError(
            `${functionName}: Task timed out after ${(timeoutMs / 1_000).toFixed(2)} seconds`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function integerIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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

function printError(error: unknown, info: { phase: ErrorPhase; messageIds: readonly string[] }): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `event source: ${info.phase} failed (${info.messageIds.length} message(s)): ${message}\n`,
  );
}
