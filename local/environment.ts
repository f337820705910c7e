import type { Endpoints } from '../shared/composition-root';
import { type Config, ENV, loadConfig, settingText } from '../shared/config';

/**
 * The environment variables that point chime-lifecycle (Lambda handlers and CLI alike) at a configuration
 * and a set of endpoints, exactly as a deployed function's environment would.
 */
/** The local services' endpoints; STS only where a local STS runs (the tenants' roles). */
export type LocalEndpoints = Required<Omit<Endpoints, 'sts'>> & Pick<Endpoints, 'sts'>;

export function environmentFor(config: Config, endpoints: LocalEndpoints): Record<string, string> {
  const variables: Record<string, string> = {
    AWS_REGION: config.region,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_DYNAMODB_STREAMS: endpoints.dynamodb,
    AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY: endpoints.chime,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventbridge,
    ...(endpoints.sts ? { AWS_ENDPOINT_URL_STS: endpoints.sts } : {}),
  };
  for (const key of Object.keys(ENV) as (keyof Config)[]) {
    if (key !== 'region') variables[ENV[key]] = settingText(config[key]);
  }
  return variables;
}

/** Applies `environmentFor` to this process, before handler modules (which build their Runtime at import) load. */
export function exportEnvironment(config: Config, endpoints: LocalEndpoints): void {
  Object.assign(process.env, environmentFor(config, endpoints));
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
}

/**
 * A configuration whose tables, queues and bus are named after `prefix`, so several runs (test files,
 * benchmarks) share one DynamoDB Local or SQS server without meeting each other.
 */
export function isolatedConfig(prefix: string, overrides: Partial<Config> = {}): Config {
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
      activityQueue: `${prefix}-activity`,
      activityDeadLetterQueue: `${prefix}-activity-dlq`,
      eventBus: `${prefix}-bus`,
      ...overrides,
    },
  );
}
