import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { StoreRuntime } from '../shared/composition/stores';
import { type Config, ENV, loadConfig } from '../shared/config';
import { CliError } from './errors';

/**
 * Runs one command's work with the stores alone (DynamoDB: policies, ledger, runs), for the commands that
 * need nothing else (`policy list`, `policy get`, `policy history`): no other SDK client is loaded. Imported
 * through cli/with-runtime.ts when the work starts.
 */
export async function withStores<T>(
  work: (stores: StoreRuntime) => Promise<T>,
  overrides: Partial<Config> = {},
): Promise<T> {
  return runWith(new StoreRuntime(loadConfig(process.env, overrides)), work);
}

/** Runs `work` and destroys the runtime after; a missing table is named, with how to create it. */
export async function runWith<R extends StoreRuntime, T>(
  runtime: R,
  work: (runtime: R) => Promise<T>,
): Promise<T> {
  try {
    return await work(runtime);
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') {
      throw (await missingTableError(runtime)) ?? error;
    }
    throw error;
  } finally {
    runtime.destroy();
  }
}

/**
 * DynamoDB's "Cannot do operations on a non-existent table" names no table; ask which of ours is missing and
 * say how to create it.
 */
async function missingTableError(runtime: StoreRuntime): Promise<CliError | null> {
  const tables = [
    { name: runtime.config.policyTable, variable: ENV.policyTable },
    { name: runtime.config.stateTable, variable: ENV.stateTable },
  ];
  const missing: string[] = [];
  for (const table of tables) {
    try {
      await runtime.dynamo.send(new DescribeTableCommand({ TableName: table.name }));
    } catch (error) {
      if ((error as { name?: string }).name !== 'ResourceNotFoundException') return null;
      missing.push(`${table.name} (${table.variable})`);
    }
  }
  if (missing.length === 0) return null;
  const where = process.env.AWS_ENDPOINT_URL_DYNAMODB ?? 'AWS';
  return new CliError(
    `DynamoDB table ${missing.join(' and ')} does not exist at ${where}: create the tables with \`chime-lifecycle local init\` (local stack) or deploy the stack (docs/deploy.md), or set the variable to the right name`,
  );
}
