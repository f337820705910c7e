import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { backoff, sleep } from '../backoff';

/** BatchGetItem takes 100 keys. */
const GET_CHUNK = 100;
const MAX_UNPROCESSED_ROUNDS = 8;

export interface BatchGetOptions {
  readonly consistentRead?: boolean;
  readonly projection?: string;
  /** What is read, for the error when DynamoDB keeps returning unprocessed keys (e.g. "ledger reads"). */
  readonly what: string;
}

/**
 * Reads every key of one table with BatchGetItem, 100 keys a request, retrying unprocessed keys with backoff
 * (the lib-dynamodb command does not: it returns them). Duplicate keys are the caller's to remove.
 */
export async function batchGetAll(
  dynamo: DynamoDBDocumentClient,
  table: string,
  keys: readonly Record<string, unknown>[],
  options: BatchGetOptions,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (let start = 0; start < keys.length; start += GET_CHUNK) {
    let pending: Record<string, unknown>[] | undefined = keys.slice(start, start + GET_CHUNK);
    for (let round = 0; pending && pending.length > 0; round++) {
      if (round >= MAX_UNPROCESSED_ROUNDS) {
        throw new Error(`DynamoDB kept returning unprocessed ${options.what}`);
      }
      if (round > 0) await sleep(backoff(round, { base: 50, cap: 1_000 }));
      const result: BatchGetCommandOutput = await dynamo.send(
        new BatchGetCommand({
          RequestItems: {
            [table]: {
              Keys: pending,
              ...(options.consistentRead ? { ConsistentRead: true } : {}),
              ...(options.projection ? { ProjectionExpression: options.projection } : {}),
            },
          },
        }),
      );
      items.push(...(result.Responses?.[table] ?? []));
      pending = result.UnprocessedKeys?.[table]?.Keys;
    }
  }
  return items;
}
