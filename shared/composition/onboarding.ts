import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { coalescedEvents, coalescedLedger } from '../aws/coalesce';
import type { EventPublisher } from '../aws/events';
import { dynamoIdempotency } from '../aws/idempotency';
import type { Ledger } from '../aws/ledger';
import type { PolicyStore } from '../aws/policy-store';
import type { Delivery, QueueDriver, QueueDriverOptions } from '../aws/queue-driver';
import type { ChimeUserPort } from '../chime/user-port';
import type { Config } from '../config';
import type { Log } from '../contracts/log';
import { type OnboardRequest, onboardRequestSchema } from '../onboarding/message';
import { type OnboardOutcome, onboardRequest } from '../onboarding/onboard-request';
import { cachedTenantPolicies } from '../onboarding/policy-cache';
import {
  describeInvalidOnboarding,
  type MessageResult,
  processOnboardingRequest,
  rejectedEvent,
} from '../onboarding/process-message';
import { checkRetryBackoff, type RetryBackoff } from '../onboarding/retry';

/**
 * The onboarding wiring of the composition root (`Runtime.onboardingDriver`), kept beside it so that
 * composition-root.ts stays a readable list of what the process builds.
 */

export interface OnboardingSettings {
  readonly retry: RetryBackoff;
  /** How long an enabled tenant's policy is reused before it is read again (see cachedTenantPolicies). */
  readonly policyCacheMs: number;
  /**
   * How long a completed request is remembered. Covers SQS redeliveries and producer retries by a wide
   * margin; after it, a late duplicate converges the (unchanged) user again and publishes a second event,
   * but can never create a second user (Chime user ids are unique and the ClientRequestToken is the same).
   */
  readonly idempotencyTtlSeconds: number;
}

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

export interface Onboarding {
  /** Lets an in-progress idempotency record expire with the invocation, so a crash blocks retries only that long. */
  registerLambdaContext(context: Context): void;
  readonly driver: QueueDriver<OnboardRequest>;
}

export interface OnboardingDriverOptions {
  readonly log: Log;
  readonly observe?: (result: MessageResult | { readonly rejected: string }, delivery?: Delivery) => void;
  readonly settings?: OnboardingSettings;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** What the onboarding wiring takes from the runtime (the composition root's lazily built parts). */
export interface OnboardingRuntime {
  readonly config: Config;
  readonly dynamo: DynamoDBClient;
  readonly policyStore: PolicyStore;
  readonly chimeUserPort: ChimeUserPort;
  readonly ledger: Ledger;
  readonly events: EventPublisher;
  queueDriver<Message>(options: Omit<QueueDriverOptions<Message>, 'transport'>): QueueDriver<Message>;
}

/**
 * Wires the onboarding use case behind the queue driver: Chime through the runtime's rate-limited client
 * (the limiter the sync uses too), the ledger, the event bus, the DLQ, and exactly-once through Powertools
 * idempotency. `observe` sees every result (metrics).
 */
export function wireOnboarding(runtime: OnboardingRuntime, options: OnboardingDriverOptions): Onboarding {
  const settings = options.settings ?? onboardingSettingsOf(runtime.config);
  const now = options.now ?? Date.now;
  const idempotency = dynamoIdempotency<OnboardOutcome>(runtime.dynamo, {
    tableName: runtime.config.idempotencyTable,
    expiresAfterSeconds: settings.idempotencyTtlSeconds,
  });
  // The records of a batch run side by side; their ledger entries and events travel together in a few
  // requests (each record still waits for its own writes, ledger before event, before it completes).
  const deps = {
    policies: cachedTenantPolicies(runtime.policyStore, settings.policyCacheMs, now),
    users: runtime.chimeUserPort,
    ledger: coalescedLedger(runtime.ledger),
    events: coalescedEvents(runtime.events),
    now,
  };
  const onboardOnce = async (request: OnboardRequest, key: string) => {
    const { result, replayed } = await idempotency.once(key, () => onboardRequest(request, key, deps));
    return { outcome: result, replayed };
  };
  return {
    registerLambdaContext: (context) => idempotency.registerLambdaContext(context),
    driver: runtime.queueDriver<OnboardRequest>({
      kind: 'onboarding',
      schema: onboardRequestSchema,
      retry: settings.retry,
      log: options.log,
      ...(options.random ? { random: options.random } : {}),
      describeInvalid: describeInvalidOnboarding,
      handle: async (request, delivery) => {
        options.observe?.(
          await processOnboardingRequest(request, delivery, { onboardOnce, log: options.log }),
          delivery,
        );
        return undefined;
      },
      onDeadLettered: async (body, delivery, failure) => {
        options.observe?.({ rejected: failure.reason }, delivery);
        // Retries ran out: not a rejection of the request, which a redrive may still complete.
        if (failure.reason === 'retries-exhausted') return;
        await runtime.events.publish([
          rejectedEvent(body, delivery.messageId, failure.reason, failure.detail),
        ]);
      },
    }),
  };
}
