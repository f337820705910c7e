import { randomUUID } from 'node:crypto';
import { ensureTables } from '../../shared/aws/tables';
import { type Endpoints, Runtime, type RuntimeOptions } from '../../shared/composition-root';
import { type Config, ENV, loadConfig } from '../../shared/config';
import { dynamoDbUrl } from './context';

/** Dummy credentials: the local servers accept any, and no test may reach a real AWS account. */
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
process.env.AWS_REGION ??= 'us-east-1';

/** A config whose table and queue names are unique to one test, so test files can share one DynamoDB Local. */
export function uniqueConfig(overrides: Partial<Config> = {}): Config {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  return loadConfig(
    {},
    {
      policyTable: `${prefix}-policies`,
      stateTable: `${prefix}-state`,
      idempotencyTable: `${prefix}-idempotency`,
      onboardingQueue: `${prefix}-onboarding`,
      onboardingDeadLetterQueue: `${prefix}-onboarding-dlq`,
      reconcileQueue: `${prefix}-reconcile`,
      reconcileDeadLetterQueue: `${prefix}-reconcile-dlq`,
      eventBus: `${prefix}-bus`,
      ...overrides,
    },
  );
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

/**
 * Points this test worker's environment at the given config and endpoints, as a deployed Lambda's
 * environment would, so handler modules (which build their Runtime at import) talk to the local stack.
 * Call it before importing a handler; vitest gives each test file its own worker.
 */
export function exportEnvironment(config: Config, endpoints: Required<Endpoints>): void {
  for (const key of Object.keys(ENV) as (keyof Config)[]) {
    if (key === 'region') continue;
    process.env[ENV[key]] = String(config[key]);
  }
  process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoints.dynamodb;
  process.env.AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY = endpoints.chime;
  process.env.AWS_ENDPOINT_URL_SQS = endpoints.sqs;
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = endpoints.eventbridge;
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
}
