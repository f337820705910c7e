import { DeleteMessageBatchCommand, type Message } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { receiveBatch } from './batch-assembly';
import { type BatchPlan, planBatch } from './batch-response';
import { createContext, toSqsEvent } from './lambda-event';
import { type Settings, SQS_MAX_BATCH } from './settings';
import type { BatchResult } from './types';

/**
 * One delivery: receive a batch, invoke the handler once within its timeout, read its response as Lambda
 * does (batch-response.ts) and delete what succeeded.
 */

export interface BatchHooks {
  onReceived?(count: number): void;
  onProblem?(kind: 'handler' | 'response'): void;
  /** After a non-empty batch is finished (its deletes included), whatever happened. */
  onSettled?(): void;
}

/** An invoked batch whose successes are being deleted (wrapped: an awaited promise would wait for them). */
export interface Invoked {
  readonly deletion: Promise<BatchResult>;
}

/**
 * Receives a batch and invokes the handler with it. Resolves once the invocation is over, with the
 * deletion of its successes still under way, or with undefined when nothing came.
 */
export async function receiveAndInvoke(
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
    memoryMb: settings.memoryMb,
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

/** Deletes the given messages; returns the ids actually deleted (a failed delete means a redelivery). */
export async function deleteMessages(
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

export class HandlerTimeoutError extends Error {
  override name = 'HandlerTimeoutError';
}

/**
 * The invocation as Lambda bounds it: past the function's timeout it has failed with Lambda's message, whatever
 * the handler still does (in this process a promise cannot be cut short; its outcome is ignored).
 */
export async function withTimeout<T>(work: Promise<T>, timeoutMs: number, functionName: string): Promise<T> {
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
