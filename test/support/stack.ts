import { randomUUID } from 'node:crypto';
import { isolatedConfig } from '../../local/environment';
import { ensureTables } from '../../shared/aws/tables';
import { Runtime, type RuntimeOptions } from '../../shared/composition-root';
import type { Config } from '../../shared/config';
import { dynamoDbUrl } from './context';

/** Dummy credentials: the local servers accept any, and no test may reach a real AWS account. */
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
process.env.AWS_REGION ??= 'us-east-1';

/** A config whose table and queue names are unique to one test, so test files can share one DynamoDB Local. */
export function uniqueConfig(overrides: Partial<Config> = {}): Config {
  return isolatedConfig(`t${randomUUID().slice(0, 8)}`, overrides);
}

/** A runtime on the shared DynamoDB Local with freshly created, uniquely named tables. */
export async function testRuntime(
  options: { config?: Partial<Config>; runtime?: RuntimeOptions } = {},
): Promise<Runtime> {
  const runtime = new Runtime(uniqueConfig(options.config), {
    ...options.runtime,
    endpoints: { dynamodb: dynamoDbUrl(), ...options.runtime?.endpoints },
  });
  await ensureTables(runtime.dynamo, runtime.config);
  return runtime;
}

export { exportEnvironment } from '../../local/environment';
