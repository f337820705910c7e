import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { NoticePort } from '../sync/ports';

const partition = (tenantId: string) => `NOTICE#${tenantId}`;

/**
 * Notices that must go out once (e.g. "Exemption Ending"), recorded in the state table: a conditional put
 * claims a notice, so of two runs (or a redelivered step) only one publishes it. The item expires through
 * the table's TTL once the notice cannot come up again.
 */
export class Notices implements NoticePort {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly stateTable: string,
  ) {}

  async claim(tenantId: string, key: string, at: number, keepUntil: number): Promise<boolean> {
    try {
      await this.dynamo.send(
        new PutCommand({
          TableName: this.stateTable,
          Item: {
            pk: partition(tenantId),
            sk: key,
            sentAt: new Date(at).toISOString(),
            expiresAt: Math.ceil(keepUntil / 1000),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
