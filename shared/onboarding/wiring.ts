import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Context, SQSRecord } from 'aws-lambda';
import type { PolicyStore } from '../aws/policy-store';
import type { Runtime } from '../composition-root';
import type { Config } from '../config';
import { compilePolicy } from '../policy';
import type { Log } from '../sync/ports';
import type { OnboardRequest } from './message';
import {
  type OnboardOutcome,
  onboardRequest,
  type TenantPolicy,
  type TenantPolicySource,
} from './onboard-request';
import { type MessageResult, processOnboardingMessage } from './process-message';
import { checkRetryBackoff, DEFAULT_RETRY_BACKOFF, type RetryBackoff } from './retry';

export interface OnboardingSettings {
  readonly retry: RetryBackoff;
  /**
   * How long an enabled tenant's policy is reused before it is read again. Saves a DynamoDB read and a
   * policy compilation per message; a policy change reaches onboarding within this long. Unknown and
   * disabled tenants are never cached, so fixing a tenant and redriving its messages works at once.
   */
  readonly policyCacheMs: number;
  /**
   * How long a completed request is remembered. Covers SQS redeliveries and producer retries by a wide
   * margin; after it, a late duplicate converges the (unchanged) user again and publishes a second event,
   * but can never create a second user (Chime user ids are unique and the ClientRequestToken is the same).
   */
  readonly idempotencyTtlSeconds: number;
}

export const DEFAULT_ONBOARDING_SETTINGS: OnboardingSettings = {
  retry: DEFAULT_RETRY_BACKOFF,
  policyCacheMs: 5_000,
  idempotencyTtlSeconds: 86_400,
};

/** The onboarding settings of a configuration (shared/config.ts reads and validates the variables). */
export function onboardingSettingsOf(config: Config): OnboardingSettings {
  return {
    retry: checkRetryBackoff({
      baseSeconds: config.onboardingRetryBaseSeconds,
      capSeconds: config.onboardingRetryCapSeconds,
    }),
    policyCacheMs: config.onboardingPolicyCacheSeconds * 1000,
    idempotencyTtlSeconds: config.onboardingIdempotencyTtlSeconds,
  };
}

/** The idempotency records of onboarding are `onboard-users#<hash of the key>`, whatever the function is called. */
export const IDEMPOTENCY_KEY_PREFIX = 'onboard-users';

export interface Onboarding {
  /** Lets an in-progress idempotency record expire with the invocation, so a crash blocks retries only that long. */
  registerLambdaContext(context: Context): void;
  processRecord(record: SQSRecord): Promise<MessageResult>;
}

export interface OnboardingOptions {
  readonly log: Log;
  readonly settings?: OnboardingSettings;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * Wires the onboarding use case to a Runtime: Chime through the runtime's rate-limited client (the limiter
 * the sync uses too), the ledger, the event bus, the DLQ, and Powertools idempotency on the idempotency
 * table (key attribute `id`, TTL attribute `expiration`, as infra/tables.json defines it).
 */
export function createOnboarding(runtime: Runtime, options: OnboardingOptions): Onboarding {
  const settings = options.settings ?? onboardingSettingsOf(runtime.config);
  const now = options.now ?? Date.now;
  const idempotencyConfig = new IdempotencyConfig({
    // The function below receives `{ key }`: the idempotency key is the request's key (its
    // ClientRequestToken), hashed by Powertools into the record id.
    eventKeyJmesPath: 'key',
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: settings.idempotencyTtlSeconds,
  });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: runtime.config.idempotencyTable,
    keyAttr: 'id',
    expiryAttr: 'expiration',
    awsSdkV3Client: runtime.dynamo,
  });
  // Powertools deletes the INPROGRESS record when `work` throws, so a failed attempt never blocks its retry;
  // if that delete fails too, the record expires with the invocation (registerLambdaContext).
  const runOnce = makeIdempotent(
    async (_idempotency: { readonly key: string }, work: () => Promise<OnboardOutcome>) => work(),
    { persistenceStore, config: idempotencyConfig, keyPrefix: IDEMPOTENCY_KEY_PREFIX, dataIndexArgument: 0 },
  );
  const deps = {
    policies: cachedTenantPolicies(runtime.policyStore, settings.policyCacheMs, now),
    users: runtime.chimeUsers,
    ledger: runtime.ledger,
    events: runtime.events,
    now,
  };
  const onboardOnce = async (request: OnboardRequest, key: string) => {
    let executed = false;
    const outcome = await runOnce({ key }, () => {
      executed = true;
      return onboardRequest(request, key, deps);
    });
    return { outcome, replayed: !executed };
  };

  return {
    registerLambdaContext: (context) => idempotencyConfig.registerLambdaContext(context),
    processRecord: (record) =>
      processOnboardingMessage(
        {
          messageId: record.messageId,
          body: record.body,
          receiveCount: Number(record.attributes.ApproximateReceiveCount ?? 1),
        },
        {
          onboardOnce,
          deadLetter: (reason, detail) => runtime.deadLetter('onboarding', record, reason, detail),
          retryLater: async (delaySeconds) => {
            const url = await runtime.queues.resolveQueueUrl(
              queueNameOfArn(record.eventSourceARN) ?? runtime.config.onboardingQueue,
            );
            await runtime.queues.changeVisibility(url, record.receiptHandle, delaySeconds);
          },
          events: runtime.events,
          log: options.log,
          backoff: settings.retry,
          ...(options.random ? { random: options.random } : {}),
        },
      ),
  };
}

/** The queue a record came from (its event source ARN's last part), so the retry delay lands on that queue. */
function queueNameOfArn(arn: string | undefined): string | undefined {
  const name = arn?.split(':')[5];
  return name ? name : undefined;
}

/** A tenant's policy, reused for `ttlMs` when it is enabled; concurrent readers share one DynamoDB read. */
export function cachedTenantPolicies(
  store: Pick<PolicyStore, 'get'>,
  ttlMs: number,
  now: () => number = Date.now,
): TenantPolicySource {
  const cache = new Map<string, { readonly policy: Promise<TenantPolicy | null>; readonly readAt: number }>();
  const read = async (tenantId: string): Promise<TenantPolicy | null> => {
    const stored = await store.get(tenantId);
    if (!stored) return null;
    return {
      tenantId,
      version: stored.version,
      enabled: stored.policy.enabled,
      appInstanceArn: stored.policy.appInstanceArn,
      compiled: compilePolicy(stored.policy),
    };
  };
  return {
    async get(tenantId) {
      const cached = cache.get(tenantId);
      if (cached && now() - cached.readAt < ttlMs) {
        const policy = await cached.policy.catch(() => null);
        if (policy?.enabled) return policy;
      }
      const entry = { policy: read(tenantId), readAt: now() };
      cache.set(tenantId, entry);
      try {
        const policy = await entry.policy;
        if (!policy?.enabled) cache.delete(tenantId);
        return policy;
      } catch (error) {
        cache.delete(tenantId);
        throw error;
      }
    },
  };
}
