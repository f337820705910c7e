import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { coalescedEvents, coalescedLedger } from '../aws/coalesce';
import type { EventPublisher } from '../aws/events';
import { dynamoIdempotency } from '../aws/idempotency';
import type { Ledger } from '../aws/ledger';
import type { PolicyStore } from '../aws/policy-store';
import type { DeadLettered } from '../aws/queue-driver';
import { bucketKeysFor } from '../chime/quotas';
import type { BucketState } from '../chime/rate-limiter';
import type { ChimeUserPort } from '../chime/user-port';
import type { Config } from '../config';
import type { Log } from '../contracts/log';
import { type CapacityRequest, requestsBeyondCapacity } from '../onboarding/capacity';
import type { OnboardRequest } from '../onboarding/message';
import { type OnboardOutcome, onboardRequest } from '../onboarding/onboard-request';
import { cachedTenantPolicies } from '../onboarding/policy-cache';
import type { CreateCapacity } from '../onboarding/ports';
import { type MessageResult, processOnboardingRequest, rejectedEvent } from '../onboarding/process-message';

/**
 * The onboarding wiring of the composition root (`Runtime.onboarding`), kept beside it so that
 * composition-root.ts stays a readable list of what the process builds.
 */

export interface OnboardingSettings {
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
    policyCacheMs: config.onboardingPolicyCacheSeconds * 1000,
    idempotencyTtlSeconds: config.onboardingIdempotencyTtlSeconds,
  };
}

/** One queue record, as onboarding needs it. */
export interface OnboardingRecord {
  readonly messageId: string;
  /** The invocation's deadline: a Chime call still waiting for rate tokens when it aborts gives up. */
  readonly deadline: AbortSignal;
  readonly log: Log;
}

/** The onboarding use case, wired once per process, as onboard-users uses it. */
export interface Onboarding {
  /** Lets an in-progress idempotency record expire with the invocation, so a crash blocks retries only that long. */
  registerLambdaContext(context: Context): void;
  /** Onboards one request exactly once; a TerminalError means "dead-letter it", anything else "retry". */
  onboard(request: OnboardRequest, record: OnboardingRecord): Promise<MessageResult>;
  /**
   * Announces a dead-lettered message (`Onboarding Request Rejected`), without parsing it again. A message
   * whose retries ran out is not a rejection: a redrive may still complete it.
   */
  rejected(report: DeadLettered<OnboardRequest>): Promise<void>;
  /**
   * The requests of a batch beyond what their tenants' Chime create quota serves within `horizonMs` (the
   * invocation's deadline), as message ids (shared/onboarding/capacity.ts): the queue driver hands them back.
   */
  beyondCapacity(requests: readonly CapacityRequest[], horizonMs: number): Promise<ReadonlySet<string>>;
}

export interface OnboardingOptions {
  readonly settings?: OnboardingSettings;
  readonly now?: () => number;
}

/** What the onboarding wiring takes from the runtime (the composition root's lazily built parts). */
export interface OnboardingRuntime {
  readonly config: Config;
  readonly dynamo: DynamoDBClient;
  readonly policyStore: PolicyStore;
  readonly ledger: Ledger;
  readonly events: EventPublisher;
  /** Chime as onboarding's port, its waits for rate tokens bounded by `deadline`. */
  chimeUserPortUntil(deadline: AbortSignal): ChimeUserPort;
  /** The process's rate limiter, read for the capacity estimate (nothing is taken from it). */
  readonly chimeLimiter: { bucketState(key: string): BucketState };
}

/**
 * How many more calls a bucket in this state serves within `horizonMs`: its tokens now plus its rate over
 * the horizon, minus the calls already waiting for it.
 */
export function servableWithin(state: BucketState, horizonMs: number): number {
  const tokens = state.tokens + (state.rate * Math.max(0, horizonMs)) / 1000;
  // A hair of tolerance: 9.999999 tokens from floating-point refills are the 10 they stand for.
  return Math.max(0, Math.floor(tokens + 1e-9) - state.waiting);
}

/** The create capacity of the process's Chime quota, read from its rate limiter (CreateCapacity). */
export function limiterCapacity(limiter: { bucketState(key: string): BucketState }): CreateCapacity {
  return {
    bucketsOfCreate: (appInstanceArn) =>
      bucketKeysFor('CreateAppInstanceUser', { AppInstanceArn: appInstanceArn }),
    servableWithin: (bucket, horizonMs) => servableWithin(limiter.bucketState(bucket), horizonMs),
  };
}

/**
 * Wires the onboarding use case: Chime through the runtime's rate-limited client (the limiter the sync uses
 * too), the ledger, the event bus, and exactly-once through Powertools idempotency.
 */
export function wireOnboarding(runtime: OnboardingRuntime, options: OnboardingOptions = {}): Onboarding {
  const settings = options.settings ?? onboardingSettingsOf(runtime.config);
  const now = options.now ?? Date.now;
  const idempotency = dynamoIdempotency<OnboardOutcome>(runtime.dynamo, {
    tableName: runtime.config.idempotencyTable,
    expiresAfterSeconds: settings.idempotencyTtlSeconds,
  });
  // The records of a batch run side by side; their ledger entries and events travel together in a few
  // requests (each record still waits for its own writes, ledger before event, before it completes).
  const shared = {
    policies: cachedTenantPolicies(runtime.policyStore, settings.policyCacheMs, now),
    ledger: coalescedLedger(runtime.ledger),
    events: coalescedEvents(runtime.events),
    now,
  };
  return {
    registerLambdaContext: (context) => idempotency.registerLambdaContext(context),
    onboard: (request, record) => {
      const deps = { ...shared, users: runtime.chimeUserPortUntil(record.deadline) };
      const onboardOnce = async (message: OnboardRequest, key: string) => {
        const { result, replayed } = await idempotency.once(key, () => onboardRequest(message, key, deps));
        return { outcome: result, replayed };
      };
      return processOnboardingRequest(request, record.messageId, { onboardOnce, log: record.log });
    },
    rejected: async ({ failure, message, messageId }) => {
      if (failure.reason === 'retries-exhausted') return;
      await runtime.events.publish([rejectedEvent(failure, messageId, message)]);
    },
    beyondCapacity: (requests, horizonMs) =>
      requestsBeyondCapacity(requests, horizonMs, {
        policies: shared.policies,
        capacity: limiterCapacity(runtime.chimeLimiter),
      }),
  };
}
