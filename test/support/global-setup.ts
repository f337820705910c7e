import type { TestProject } from 'vitest/node';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local';
import './context';

let dynamo: DynamoDbLocal | undefined;

/** One DynamoDB Local for the whole integration run; each test file creates its own uniquely named tables. */
export async function setup(project: TestProject): Promise<void> {
  dynamo = await startDynamoDbLocal();
  project.provide('dynamoDbUrl', dynamo.url);
}

export async function teardown(): Promise<void> {
  await dynamo?.close();
}
