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

export interface StreamSourceOptions {
  readonly dynamo: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly tableName: string;
  readonly handler: (event: DynamoDBStreamEvent) => Promise<unknown>;
  /** Where to start reading shards that exist when the source starts. */
  readonly startingPosition?: 'LATEST' | 'TRIM_HORIZON';
  readonly pollMs?: number;
  readonly batchSize?: number;
  readonly onError?: (error: unknown) => void;
}

export interface StreamSource {
  /** Batches delivered to the handler so far. */
  readonly delivered: () => number;
  stop(): Promise<void>;
}

const RETRY_DELAY_MS = 1_000;
const SHARD_REFRESH_MS = 5_000;

/**
 * A local DynamoDB Streams → Lambda event source mapping for the offline stack and the tests, faithful to what
 * matters here: records in order per shard, a batch is retried (blocking its shard) until the handler
 * succeeds, and the event has Lambda's shape. serverless-offline has no maintained stream trigger that works
 * with DynamoDB Local on Node 22, and this is under 150 lines.
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

  const deliver = async (records: _Record[]) => {
    const event: DynamoDBStreamEvent = {
      Records: records.map((record) => toLambdaRecord(record, streamArn)),
    };
    for (;;) {
      try {
        await handler(event);
        delivered++;
        return;
      } catch (error) {
        // Lambda retries a failed stream batch until it succeeds or the records expire; so do we.
        options.onError?.(error);
        if (stopped) return;
        await sleep(RETRY_DELAY_MS);
      }
    }
  };

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
            await deliver(page.Records);
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
