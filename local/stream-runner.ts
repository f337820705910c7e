import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { sleep } from '../shared/backoff';
import { FailingBatches, type StreamFailureRecord } from './stream-failures';

export type { StreamFailureCondition, StreamFailureRecord } from './stream-failures';

export interface StreamSourceOptions {
  readonly dynamo: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly tableName: string;
  readonly handler: (event: DynamoDBStreamEvent) => Promise<unknown>;
  /** Where to start reading shards that exist when the source starts. */
  readonly startingPosition?: 'LATEST' | 'TRIM_HORIZON';
  readonly pollMs?: number;
  readonly batchSize?: number;
  /** Split a failing batch in two and retry each half (splitting uses no retry). Default false. */
  readonly bisectBatchOnFunctionError?: boolean;
  /** Retries of a failing batch before it is given up on; -1 (default, Lambda's too): until it succeeds. */
  readonly maximumRetryAttempts?: number;
  /** Records older than this are given up on instead of invoked; -1 (default, Lambda's too): no limit. */
  readonly maximumRecordAgeSeconds?: number;
  /**
   * The on-failure destination: told of each batch given up on, with what Lambda sends its destination (the
   * batch's shard and sequence numbers, not the records). Retried until it takes the record.
   */
  readonly onFailure?: (record: StreamFailureRecord) => Promise<void>;
  /** Wait between retries of a failing batch (default 1 s). */
  readonly retryDelayMs?: number;
  /** The function's ARN, as an on-failure record names it. */
  readonly functionArn?: string;
  readonly onError?: (error: unknown) => void;
}

export interface StreamSource {
  /** Batches delivered to the handler so far. */
  readonly delivered: () => number;
  /** Batches given up on (sent to the on-failure destination) so far. */
  readonly failed: () => number;
  stop(): Promise<void>;
}

const RETRY_DELAY_MS = 1_000;
const SHARD_REFRESH_MS = 5_000;

/**
 * A local DynamoDB Streams → Lambda event source mapping for the offline stack and the tests, faithful to what
 * matters here: records in order per shard, the event in Lambda's shape, and a failing batch handled as the
 * mapping's settings say: split in two when bisecting, retried (blocking its shard) up to its retry attempts
 * and record age, then reported to the on-failure destination and skipped. serverless-offline has no
 * maintained stream trigger that works with DynamoDB Local on Node 22; the failure handling is
 * stream-failures.ts.
 */
export async function startStreamSource(options: StreamSourceOptions): Promise<StreamSource> {
  const { dynamo, streams, tableName, handler } = options;
  const pollMs = options.pollMs ?? 250;
  const table = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
  const streamArn = table.Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${tableName} has no stream; enable StreamSpecification`);

  const iterators = new Map<string, string | null>();
  let initial = true;
  let stopped = false;
  let delivered = 0;
  let lastRefresh = 0;

  const refreshShards = async () => {
    const description = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of description.StreamDescription?.Shards ?? []) {
      const shardId = shard.ShardId;
      if (!shardId || iterators.has(shardId)) continue;
      // Shards found after start hold only new records: read them from their beginning.
      const type = initial ? (options.startingPosition ?? 'LATEST') : 'TRIM_HORIZON';
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: type }),
      );
      iterators.set(shardId, ShardIterator ?? null);
    }
    initial = false;
    lastRefresh = Date.now();
  };

  const batches = new FailingBatches({
    invoke: async (records) => {
      await handler({ Records: records.map((record) => toLambdaRecord(record, streamArn)) });
      delivered++;
    },
    streamArn,
    functionArn: options.functionArn ?? 'arn:aws:lambda:us-east-1:000000000000:function:local',
    settings: {
      bisectBatchOnFunctionError: options.bisectBatchOnFunctionError ?? false,
      maximumRetryAttempts: options.maximumRetryAttempts ?? -1,
      maximumRecordAgeSeconds: options.maximumRecordAgeSeconds ?? -1,
      retryDelayMs: options.retryDelayMs ?? RETRY_DELAY_MS,
    },
    stopped: () => stopped,
    ...(options.onFailure ? { onFailure: options.onFailure } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });

  /** Where to resume a shard whose iterator DynamoDB no longer accepts: after the last record delivered. */
  const lastSequence = new Map<string, string>();
  const renewIterator = async (shardId: string) => {
    const after = lastSequence.get(shardId);
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ...(after
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
          : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    iterators.set(shardId, ShardIterator ?? null);
  };

  const poll = async () => {
    while (!stopped) {
      try {
        if (Date.now() - lastRefresh > SHARD_REFRESH_MS) await refreshShards();
        let any = false;
        for (const [shardId, iterator] of iterators) {
          if (!iterator) continue;
          let page: GetRecordsCommandOutput;
          try {
            page = await streams.send(
              new GetRecordsCommand({ ShardIterator: iterator, Limit: options.batchSize ?? 100 }),
            );
          } catch (error) {
            // Iterators expire (15 minutes) and DynamoDB Local sometimes reports a fresh LATEST iterator as
            // trimmed: like Lambda's poller, take a new one where delivery stopped instead of losing the shard.
            const name = (error as { name?: string }).name;
            if (name === 'ExpiredIteratorException' || name === 'TrimmedDataAccessException') {
              await renewIterator(shardId);
              continue;
            }
            throw error;
          }
          iterators.set(shardId, page.NextShardIterator ?? null);
          if (page.Records && page.Records.length > 0) {
            any = true;
            await batches.deliver(shardId, page.Records);
            const sequence = page.Records.at(-1)?.dynamodb?.SequenceNumber;
            if (sequence) lastSequence.set(shardId, sequence);
          }
        }
        if (!any) await sleep(pollMs);
      } catch (error) {
        options.onError?.(error);
        await sleep(RETRY_DELAY_MS);
      }
    }
  };

  await refreshShards();
  const loop = poll();
  return {
    delivered: () => delivered,
    failed: () => batches.failed,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

function toLambdaRecord(record: _Record, streamArn: string): DynamoDBRecord {
  return {
    eventID: record.eventID ?? '',
    eventName: record.eventName as 'INSERT' | 'MODIFY' | 'REMOVE',
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? 'us-east-1',
    eventSourceARN: streamArn,
    dynamodb: {
      ...(JSON.parse(JSON.stringify(record.dynamodb ?? {})) as NonNullable<DynamoDBRecord['dynamodb']>),
      // The SDK parses it into a Date; Lambda delivers epoch seconds.
      ...(record.dynamodb?.ApproximateCreationDateTime
        ? {
            ApproximateCreationDateTime: Math.floor(
              record.dynamodb.ApproximateCreationDateTime.getTime() / 1000,
            ),
          }
        : {}),
    },
  };
}
