import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, paginateQuery, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { LedgerEntry } from '../contracts/ledger';
import { batchGetAll } from './batch-get';
import { batchWriteAll } from './batch-write';

const partition = (tenantId: string) => `LEDGER#${tenantId}`;

export class Ledger {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly stateTable: string,
  ) {}

  async getMany(tenantId: string, userIds: readonly string[]): Promise<Map<string, LedgerEntry>> {
    const keys = [...new Set(userIds)].map((userId) => ({ pk: partition(tenantId), sk: userId }));
    const items = await batchGetAll(this.dynamo, this.stateTable, keys, {
      consistentRead: true,
      what: 'ledger reads',
    });
    const found = new Map<string, LedgerEntry>();
    for (const item of items) {
      const entry = fromItem(item);
      found.set(entry.appInstanceUserId, entry);
    }
    return found;
  }

  async putMany(tenantId: string, entries: readonly LedgerEntry[]): Promise<void> {
    await batchWriteAll(
      this.dynamo,
      this.stateTable,
      entries.map((entry) => ({ PutRequest: { Item: toItem(tenantId, entry) } })),
    );
  }

  /** Entries not marked gone whose last sighting is before `cutoff` (epoch ms), or that were never sighted. */
  async *unseenBefore(tenantId: string, cutoff: number): AsyncGenerator<LedgerEntry> {
    for await (const page of paginateQuery(
      { client: this.dynamo },
      {
        TableName: this.stateTable,
        KeyConditionExpression: 'pk = :pk',
        FilterExpression:
          '(attribute_not_exists(lastSeenAt) OR lastSeenAt < :cutoff) AND attribute_not_exists(goneAt)',
        ExpressionAttributeValues: { ':pk': partition(tenantId), ':cutoff': cutoff },
      },
    )) {
      for (const item of page.Items ?? []) yield fromItem(item);
    }
  }

  async markGone(tenantId: string, appInstanceUserId: string, at: number): Promise<void> {
    await this.dynamo.send(
      new UpdateCommand({
        TableName: this.stateTable,
        Key: { pk: partition(tenantId), sk: appInstanceUserId },
        UpdateExpression: 'SET goneAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': at },
      }),
    );
  }

  /**
   * Marks a user gone because Chime said so (CloudTrail), with the reason; false when the ledger has no
   * entry for it. A repeated event keeps the first instant.
   */
  async markRemoved(
    tenantId: string,
    appInstanceUserId: string,
    at: number,
    reason: 'expired' | 'deleted',
  ): Promise<boolean> {
    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.stateTable,
          Key: { pk: partition(tenantId), sk: appInstanceUserId },
          UpdateExpression:
            'SET goneAt = if_not_exists(goneAt, :at), goneReason = if_not_exists(goneReason, :reason)',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':at': at, ':reason': reason },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async *all(tenantId: string): AsyncGenerator<LedgerEntry> {
    for await (const page of paginateQuery(
      { client: this.dynamo },
      {
        TableName: this.stateTable,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': partition(tenantId) },
      },
    )) {
      for (const item of page.Items ?? []) yield fromItem(item);
    }
  }
}

function toItem(tenantId: string, entry: LedgerEntry): Record<string, unknown> {
  return { pk: partition(tenantId), sk: entry.appInstanceUserId, ...entry };
}

function fromItem(item: Record<string, unknown>): LedgerEntry {
  return {
    appInstanceUserId: String(item.sk),
    createdAt: Number(item.createdAt),
    expirationDays:
      item.expirationDays === null || item.expirationDays === undefined ? null : Number(item.expirationDays),
    verifiedAt: Number(item.verifiedAt),
    appliedPolicyVersion:
      item.appliedPolicyVersion === undefined ? undefined : Number(item.appliedPolicyVersion),
    appliedRuleId: item.appliedRuleId === undefined ? undefined : String(item.appliedRuleId),
    lastSeenRunId: item.lastSeenRunId === undefined ? undefined : String(item.lastSeenRunId),
    lastSeenAt: item.lastSeenAt === undefined ? undefined : Number(item.lastSeenAt),
    goneAt: item.goneAt === undefined ? undefined : Number(item.goneAt),
    goneReason: item.goneReason === 'expired' || item.goneReason === 'deleted' ? item.goneReason : undefined,
    warnedExpiresAt: item.warnedExpiresAt === undefined ? undefined : Number(item.warnedExpiresAt),
    warnedHorizons: Array.isArray(item.warnedHorizons) ? item.warnedHorizons.map(Number) : undefined,
  };
}
