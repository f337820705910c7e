import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { emptyCounters, type PendingShortening, type RunRecord } from '../contracts/run';
import { batchWriteAll } from './batch-write';

const runPartition = (tenantId: string) => `RUN#${tenantId}`;
const runKey = (runId: string) => `R#${runId}`;
const pendingPartition = (tenantId: string) => `PENDING#${tenantId}`;

export class RunStore {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly stateTable: string,
  ) {}

  /**
   * Takes the tenant's run lease unless another run holds an unexpired one, so runs never overlap.
   * Returns the run id holding the lease when it is not ours.
   */
  async acquireLease(
    tenantId: string,
    runId: string,
    now: number,
    leaseMs: number,
  ): Promise<{ acquired: boolean; holder?: string }> {
    try {
      await this.dynamo.send(
        new PutCommand({
          TableName: this.stateTable,
          Item: {
            pk: runPartition(tenantId),
            sk: 'LEASE',
            runId,
            leaseUntil: now + leaseMs,
            expiresAt: Math.ceil((now + leaseMs) / 1000) + 86_400,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now OR runId = :runId',
          ExpressionAttributeValues: { ':now': now, ':runId': runId },
        }),
      );
      return { acquired: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const { Item } = await this.dynamo.send(
        new GetCommand({
          TableName: this.stateTable,
          Key: { pk: runPartition(tenantId), sk: 'LEASE' },
          ConsistentRead: true,
        }),
      );
      return Item ? { acquired: false, holder: String(Item.runId) } : { acquired: false };
    }
  }

  /** The run holding an unexpired lease on the tenant, if any (a read; starting a run still takes the lease). */
  async activeLease(tenantId: string, now: number): Promise<string | null> {
    const { Item } = await this.dynamo.send(
      new GetCommand({
        TableName: this.stateTable,
        Key: { pk: runPartition(tenantId), sk: 'LEASE' },
        ConsistentRead: true,
      }),
    );
    return Item && Number(Item.leaseUntil) >= now ? String(Item.runId) : null;
  }

  async releaseLease(tenantId: string, runId: string): Promise<void> {
    try {
      await this.dynamo.send(
        new DeleteCommand({
          TableName: this.stateTable,
          Key: { pk: runPartition(tenantId), sk: 'LEASE' },
          ConditionExpression: 'runId = :runId',
          ExpressionAttributeValues: { ':runId': runId },
        }),
      );
    } catch (error) {
      // Someone else holds it now (ours had expired): theirs is not ours to release.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async create(record: RunRecord): Promise<void> {
    await this.dynamo.send(
      new PutCommand({
        TableName: this.stateTable,
        Item: { pk: runPartition(record.tenantId), sk: runKey(record.runId), ...record },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(tenantId: string, runId: string): Promise<RunRecord | null> {
    const { Item } = await this.dynamo.send(
      new GetCommand({
        TableName: this.stateTable,
        Key: { pk: runPartition(tenantId), sk: runKey(runId) },
        ConsistentRead: true,
      }),
    );
    return Item ? fromItem(Item) : null;
  }

  /**
   * Saves a run's progress if it is still at `expectedStep`; false when another invocation already moved it
   * on (a duplicate delivery), in which case the caller must stop without side effects.
   */
  async save(record: RunRecord, expectedStep: number): Promise<boolean> {
    try {
      await this.dynamo.send(
        new PutCommand({
          TableName: this.stateTable,
          Item: { pk: runPartition(record.tenantId), sk: runKey(record.runId), ...record },
          ConditionExpression: 'step = :expected',
          ExpressionAttributeValues: { ':expected': expectedStep },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** The tenant's runs, newest first. */
  async recent(tenantId: string, limit = 10): Promise<RunRecord[]> {
    const { Items } = await this.dynamo.send(
      new QueryCommand({
        TableName: this.stateTable,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :r)',
        ExpressionAttributeValues: { ':pk': runPartition(tenantId), ':r': 'R#' },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return (Items ?? []).map(fromItem);
  }

  async addPending(tenantId: string, pending: readonly PendingShortening[]): Promise<void> {
    await batchWriteAll(
      this.dynamo,
      this.stateTable,
      pending.map((item) => ({
        PutRequest: { Item: { pk: pendingPartition(tenantId), sk: item.appInstanceUserId, ...item } },
      })),
    );
  }

  async *pending(tenantId: string): AsyncGenerator<PendingShortening> {
    for await (const page of paginateQuery(
      { client: this.dynamo },
      {
        TableName: this.stateTable,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pendingPartition(tenantId) },
        ConsistentRead: true,
      },
    )) {
      for (const item of page.Items ?? []) {
        yield {
          appInstanceUserId: String(item.sk),
          userArn: String(item.userArn),
          runId: String(item.runId),
          desiredDays:
            item.desiredDays === null || item.desiredDays === undefined ? null : Number(item.desiredDays),
          ruleId: item.ruleId === null || item.ruleId === undefined ? null : String(item.ruleId),
        };
      }
    }
  }

  async removePending(tenantId: string, appInstanceUserIds: readonly string[]): Promise<void> {
    await batchWriteAll(
      this.dynamo,
      this.stateTable,
      appInstanceUserIds.map((id) => ({
        DeleteRequest: { Key: { pk: pendingPartition(tenantId), sk: id } },
      })),
    );
  }
}

function fromItem(item: Record<string, unknown>): RunRecord {
  const { pk: _pk, sk: _sk, ...record } = item;
  const run = record as unknown as RunRecord;
  // A run saved before a counter existed (e.g. `protected`) reads it as 0, so its events keep their contract.
  return { ...run, counters: { ...emptyCounters(), ...run.counters } };
}
