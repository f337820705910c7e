import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { backoff, sleep } from '../backoff';
import type { ActivityEvent, ActivityPort } from '../sync/ports';

/**
 * The last activity of users, in the state table beside the ledger but in its own partition
 * (`ACTIVITY#<tenant>`): the sync rewrites ledger entries whole, and a conditional update racing such a put
 * would be lost. Here only these updates write, so `lastActiveAt` can only move forward.
 */
const partition = (tenantId: string) => `ACTIVITY#${tenantId}`;
const GET_CHUNK = 100;
const MAX_UNPROCESSED_ROUNDS = 8;

export type ActivityOutcome = 'advanced' | 'stale';

export class ActivityStore implements ActivityPort {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly stateTable: string,
  ) {}

  /**
   * One conditional update: sets `lastActiveAt` only when it is absent or earlier. `stale` means a later
   * activity was already recorded (a redelivery, or events out of order): nothing was written.
   */
  async record(event: ActivityEvent): Promise<ActivityOutcome> {
    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.stateTable,
          Key: { pk: partition(event.tenantId), sk: event.appInstanceUserId },
          UpdateExpression: 'SET lastActiveAt = :at',
          ConditionExpression: 'attribute_not_exists(lastActiveAt) OR lastActiveAt < :at',
          ExpressionAttributeValues: { ':at': event.at },
        }),
      );
      return 'advanced';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'stale';
      throw error;
    }
  }

  async lastActiveMany(tenantId: string, userIds: readonly string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    const unique = [...new Set(userIds)];
    for (let start = 0; start < unique.length; start += GET_CHUNK) {
      let keys: Record<string, unknown>[] | undefined = unique
        .slice(start, start + GET_CHUNK)
        .map((userId) => ({ pk: partition(tenantId), sk: userId }));
      for (let round = 0; keys && keys.length > 0; round++) {
        if (round >= MAX_UNPROCESSED_ROUNDS)
          throw new Error('DynamoDB kept returning unprocessed activity reads');
        if (round > 0) await sleep(backoff(round, { base: 50, cap: 1_000 }));
        const result: BatchGetCommandOutput = await this.dynamo.send(
          new BatchGetCommand({
            RequestItems: {
              [this.stateTable]: { Keys: keys, ProjectionExpression: 'sk, lastActiveAt' },
            },
          }),
        );
        for (const item of result.Responses?.[this.stateTable] ?? []) {
          if (typeof item.lastActiveAt === 'number') found.set(String(item.sk), item.lastActiveAt);
        }
        keys = result.UnprocessedKeys?.[this.stateTable]?.Keys;
      }
    }
    return found;
  }
}
