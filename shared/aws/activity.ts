import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ActivityEvent } from '../contracts/activity';
import type { ActivityPort } from '../sync/ports';
import { batchGetAll } from './batch-get';

/**
 * The last activity of users, in the state table beside the ledger but in its own partition
 * (`ACTIVITY#<tenant>`): the sync rewrites ledger entries whole, and a conditional update racing such a put
 * would be lost. Here only these updates write, so `lastActiveAt` can only move forward.
 */
const partition = (tenantId: string) => `ACTIVITY#${tenantId}`;

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
    const keys = [...new Set(userIds)].map((userId) => ({ pk: partition(tenantId), sk: userId }));
    const items = await batchGetAll(this.dynamo, this.stateTable, keys, {
      projection: 'sk, lastActiveAt',
      what: 'activity reads',
    });
    const found = new Map<string, number>();
    for (const item of items) {
      if (typeof item.lastActiveAt === 'number') found.set(String(item.sk), item.lastActiveAt);
    }
    return found;
  }
}
