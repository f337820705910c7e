/**
 * Runs DynamoDB Local as a child of its own process, so the sync benchmark can start it under `nice` (the
 * JVM inherits the priority) for the background 100k-user run. Prints its URL on the first line; stops
 * DynamoDB Local on SIGTERM/SIGINT.
 */
import { startDynamoDbLocal } from '../local/dynamodb-local';

const dynamo = await startDynamoDbLocal();
process.stdout.write(`DynamoDB Local listening on ${dynamo.url}\n`);
const stop = () => {
  void dynamo.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
