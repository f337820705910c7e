import {
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { backoff, sleep } from '../backoff';

type WriteRequest = NonNullable<
  ConstructorParameters<typeof BatchWriteCommand>[0]['RequestItems']
>[string][number];

/** BatchWriteItem takes at most 25 requests. */
const CHUNK = 25;
const MAX_ROUNDS = 8;

/**
 * Writes every request with BatchWriteItem, 25 at a time, retrying what DynamoDB returns as unprocessed
 * (throttled partitions) with backoff; fails loudly rather than dropping a write.
 */
export async function batchWriteAll(
  dynamo: DynamoDBDocumentClient,
  table: string,
  requests: readonly WriteRequest[],
): Promise<void> {
  for (let start = 0; start < requests.length; start += CHUNK) {
    let pending: WriteRequest[] | undefined = requests.slice(start, start + CHUNK);
    for (let round = 0; pending && pending.length > 0; round++) {
      if (round >= MAX_ROUNDS) throw new Error(`DynamoDB kept returning unprocessed writes for ${table}`);
      if (round > 0) await sleep(backoff(round, { base: 50, cap: 1_000 }));
      const result: BatchWriteCommandOutput = await dynamo.send(
        new BatchWriteCommand({ RequestItems: { [table]: pending } }),
      );
      pending = result.UnprocessedItems?.[table];
    }
  }
}
