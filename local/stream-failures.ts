import { randomUUID } from 'node:crypto';
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { sleep } from '../shared/backoff';

/** Why a batch was given up on (the invocation record's `requestContext.condition`). */
export type StreamFailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/**
 * What Lambda sends a DynamoDB stream mapping's on-failure destination for a batch it gave up on (the Lambda
 * developer guide's invocation record: the batch's place in the stream, never its records).
 */
export interface StreamFailureRecord {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: StreamFailureCondition;
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError?: string;
  };
  readonly version: '1.0';
  readonly timestamp: string;
  readonly DDBStreamBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
}

/** The failure settings of a stream event source mapping, as the declaration deploys them. */
export interface StreamFailureSettings {
  readonly bisectBatchOnFunctionError: boolean;
  /** -1: until the batch succeeds. */
  readonly maximumRetryAttempts: number;
  /** -1: no limit. */
  readonly maximumRecordAgeSeconds: number;
  readonly retryDelayMs: number;
}

export interface FailingBatchesOptions {
  /** Invokes the function with one batch; throws when the function failed. */
  readonly invoke: (records: readonly _Record[]) => Promise<void>;
  readonly streamArn: string;
  /** The function's ARN, as the invocation record names it. */
  readonly functionArn: string;
  readonly settings: StreamFailureSettings;
  /** True once the source is stopping: a batch still failing is then left where it is, not given up on. */
  readonly stopped: () => boolean;
  readonly onFailure?: (record: StreamFailureRecord) => Promise<void>;
  readonly onError?: (error: unknown) => void;
  readonly now?: () => number;
}

/**
 * How Lambda's stream event source mapping treats a failing batch (Lambda developer guide, "Retaining
 * discarded records for a DynamoDB event source"): records older than the maximum record age are not
 * invoked; a failing batch is split in two when bisecting (which uses no retry) and each half tried in order;
 * a batch that cannot be split is retried up to the maximum retry attempts; a batch given up on is reported
 * to the on-failure destination (its place in the stream) and the shard moves on. With the defaults (-1) a
 * batch is retried until it succeeds, blocking its shard, as Lambda does until the records expire.
 */
export class FailingBatches {
  failed = 0;

  constructor(private readonly options: FailingBatchesOptions) {}

  /** Delivers a page of one shard's records; resolves once each part was delivered or given up on. */
  async deliver(shardId: string, records: readonly _Record[]): Promise<void> {
    const { settings } = this.options;
    const pending: (readonly _Record[])[] = [records];
    while (pending.length > 0) {
      const batch = pending.shift() as readonly _Record[];
      for (let attempts = 0; ; ) {
        if (this.tooOld(batch)) {
          await this.giveUp(shardId, batch, 'RecordAgeExceeded', attempts);
          break;
        }
        try {
          attempts++;
          await this.options.invoke(batch);
          break;
        } catch (error) {
          this.options.onError?.(error);
        }
        if (this.options.stopped()) return;
        if (settings.bisectBatchOnFunctionError && batch.length > 1) {
          const half = Math.ceil(batch.length / 2);
          pending.unshift(batch.slice(0, half), batch.slice(half));
          break;
        }
        const retries = attempts - 1;
        if (settings.maximumRetryAttempts >= 0 && retries >= settings.maximumRetryAttempts) {
          await this.giveUp(shardId, batch, 'RetryAttemptsExhausted', attempts);
          break;
        }
        await sleep(settings.retryDelayMs);
      }
    }
  }

  private tooOld(batch: readonly _Record[]): boolean {
    const limit = this.options.settings.maximumRecordAgeSeconds;
    if (limit < 0) return false;
    const oldest = batch[0]?.dynamodb?.ApproximateCreationDateTime?.getTime();
    return oldest !== undefined && this.now() - oldest > limit * 1_000;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Reports the batch to the on-failure destination, retrying until it takes it (or the source stops). */
  private async giveUp(
    shardId: string,
    batch: readonly _Record[],
    condition: StreamFailureCondition,
    invokeCount: number,
  ): Promise<void> {
    this.failed++;
    const onFailure = this.options.onFailure;
    if (!onFailure) return;
    const record = failureRecord(
      { streamArn: this.options.streamArn, functionArn: this.options.functionArn, shardId },
      batch,
      { condition, invokeCount, now: this.now() },
    );
    for (;;) {
      try {
        await onFailure(record);
        return;
      } catch (error) {
        this.options.onError?.(error);
        if (this.options.stopped()) return;
        await sleep(this.options.settings.retryDelayMs);
      }
    }
  }
}

function failureRecord(
  where: { readonly streamArn: string; readonly functionArn: string; readonly shardId: string },
  batch: readonly _Record[],
  why: { readonly condition: StreamFailureCondition; readonly invokeCount: number; readonly now: number },
): StreamFailureRecord {
  const { streamArn, functionArn, shardId } = where;
  const { condition, invokeCount, now } = why;
  const arrival = (record: _Record | undefined) =>
    new Date(record?.dynamodb?.ApproximateCreationDateTime?.getTime() ?? now)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
  const [first] = batch;
  const last = batch.at(-1);
  return {
    requestContext: {
      requestId: randomUUID(),
      functionArn,
      condition,
      approximateInvokeCount: invokeCount,
    },
    responseContext:
      invokeCount > 0
        ? { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' }
        : { statusCode: 0, executedVersion: '$LATEST' },
    version: '1.0',
    timestamp: new Date(now).toISOString(),
    DDBStreamBatchInfo: {
      shardId,
      startSequenceNumber: first?.dynamodb?.SequenceNumber ?? '',
      endSequenceNumber: last?.dynamodb?.SequenceNumber ?? '',
      approximateArrivalOfFirstRecord: arrival(first),
      approximateArrivalOfLastRecord: arrival(last),
      batchSize: batch.length,
      streamArn,
    },
  };
}
