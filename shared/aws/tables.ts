import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type KeySchemaElement,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import tables from '../../infra/tables.json' with { type: 'json' };
import type { Config } from '../config';

/** The table definitions shared with serverless.yml (infra/tables.json), keyed by logical name. */
export type LogicalTable = keyof typeof tables;

export function tableNames(config: Config): Record<LogicalTable, string> {
  return {
    PolicyTable: config.policyTable,
    StateTable: config.stateTable,
    IdempotencyTable: config.idempotencyTable,
  };
}

export interface EnsuredTable {
  readonly logicalName: LogicalTable;
  readonly tableName: string;
  readonly created: boolean;
}

/**
 * Creates the project's tables if they are missing (idempotent), from the same definitions that
 * serverless.yml deploys, so the offline stack, the tests and AWS never drift apart.
 */
export async function ensureTables(dynamo: DynamoDBClient, config: Config): Promise<EnsuredTable[]> {
  const names = tableNames(config);
  const results: EnsuredTable[] = [];
  for (const logicalName of Object.keys(tables) as LogicalTable[]) {
    const definition = tables[logicalName];
    const tableName = names[logicalName];
    let created = false;
    if (!(await tableExists(dynamo, tableName))) {
      try {
        await dynamo.send(
          new CreateTableCommand({
            TableName: tableName,
            AttributeDefinitions: definition.AttributeDefinitions as AttributeDefinition[],
            KeySchema: definition.KeySchema as KeySchemaElement[],
            BillingMode: 'PAY_PER_REQUEST',
            ...('StreamSpecification' in definition
              ? {
                  StreamSpecification: {
                    StreamEnabled: true,
                    StreamViewType: definition.StreamSpecification.StreamViewType as 'NEW_AND_OLD_IMAGES',
                  },
                }
              : {}),
          }),
        );
        created = true;
      } catch (error) {
        // Another process created it between our check and our create: that is the outcome we wanted.
        if (!(error instanceof ResourceInUseException)) throw error;
      }
      await waitUntilTableExists({ client: dynamo, maxWaitTime: 60 }, { TableName: tableName });
      if ('TimeToLiveSpecification' in definition) {
        await dynamo.send(
          new UpdateTimeToLiveCommand({
            TableName: tableName,
            TimeToLiveSpecification: definition.TimeToLiveSpecification,
          }),
        );
      }
    }
    results.push({ logicalName, tableName, created });
  }
  return results;
}

async function tableExists(dynamo: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
}
