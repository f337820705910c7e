import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { IssuedPlan, IssuedPlanPort } from '../sync/ports';

/**
 * The plans `plan --out` issued, in the state table (`PLAN#<tenant>`, keyed by the plan's SHA-256) until
 * they expire (the table's TTL attribute `expiresAt`, in seconds; DynamoDB deletes expired items within days,
 * so the use case checks the expiry itself). Applying a plan consumes its item with a conditional update:
 * of any number of applies of one plan, at most one gets past it.
 */
const partition = (tenantId: string) => `PLAN#${tenantId}`;

export class IssuedPlans implements IssuedPlanPort {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly stateTable: string,
  ) {}

  async issue(plan: Omit<IssuedPlan, 'state'>): Promise<void> {
    await this.dynamo.send(
      new PutCommand({
        TableName: this.stateTable,
        Item: {
          pk: partition(plan.tenantId),
          sk: plan.sha256,
          state: 'issued',
          policyVersion: plan.policyVersion,
          generatedAt: plan.generatedAt,
          validUntil: plan.expiresAt,
          changes: plan.changes,
          expiresAt: Math.ceil(Date.parse(plan.expiresAt) / 1000),
        },
        // A second issue of the same content (the same instant, the same changes) must not reset a consumed one.
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(tenantId: string, sha256: string): Promise<IssuedPlan | null> {
    const { Item } = await this.dynamo.send(
      new GetCommand({
        TableName: this.stateTable,
        Key: { pk: partition(tenantId), sk: sha256 },
        ConsistentRead: true,
      }),
    );
    if (!Item) return null;
    return {
      tenantId,
      sha256,
      state: Item.state as IssuedPlan['state'],
      policyVersion: Number(Item.policyVersion),
      generatedAt: String(Item.generatedAt),
      expiresAt: String(Item.validUntil),
      changes: Number(Item.changes),
      ...(Item.consumedAt === undefined ? {} : { consumedAt: String(Item.consumedAt) }),
      ...(Item.applied === undefined ? {} : { applied: Number(Item.applied) }),
      ...(Item.skipped === undefined ? {} : { skipped: Number(Item.skipped) }),
    };
  }

  async consume(tenantId: string, sha256: string, at: number): Promise<boolean> {
    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.stateTable,
          Key: { pk: partition(tenantId), sk: sha256 },
          UpdateExpression: 'SET #state = :applying, consumedAt = :at',
          ConditionExpression: '#state = :issued',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':applying': 'applying',
            ':issued': 'issued',
            ':at': new Date(at).toISOString(),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async finish(
    tenantId: string,
    sha256: string,
    outcome: { applied: number; skipped: number },
  ): Promise<void> {
    await this.dynamo.send(
      new UpdateCommand({
        TableName: this.stateTable,
        Key: { pk: partition(tenantId), sk: sha256 },
        UpdateExpression: 'SET #state = :applied, applied = :applied_count, skipped = :skipped',
        ConditionExpression: '#state = :applying',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':applied': 'applied',
          ':applying': 'applying',
          ':applied_count': outcome.applied,
          ':skipped': outcome.skipped,
        },
      }),
    );
  }
}
