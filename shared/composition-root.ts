import type { ChimeSDKIdentityClient } from '@aws-sdk/client-chime-sdk-identity';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { EventPublisher } from './aws/events';
import { dynamoIdempotency } from './aws/idempotency';
import { Ledger } from './aws/ledger';
import { Notices } from './aws/notices';
import { PolicyStore } from './aws/policy-store';
import { type Delivery, QueueDriver, type QueueDriverOptions } from './aws/queue-driver';
import { createSqsClient, SqsQueues } from './aws/queues';
import { QuotaLeases } from './aws/quota-leases';
import { RunStore } from './aws/runs';
import { SqsTransport } from './aws/sqs-transport';
import { ChimeAttemptCounter, type ChimeQuota, createChimeClient, createChimeQuota } from './chime/client';
import type { RateLimiter } from './chime/rate-limiter';
import { ChimeUserPort } from './chime/user-port';
import { ChimeUsers } from './chime/users';
import { type Config, loadConfig } from './config';
import { type OnboardRequest, onboardRequestSchema } from './onboarding/message';
import { type OnboardOutcome, onboardRequest } from './onboarding/onboard-request';
import { cachedTenantPolicies } from './onboarding/policy-cache';
import {
  describeInvalidOnboarding,
  type MessageResult,
  processOnboardingRequest,
  rejectedEvent,
} from './onboarding/process-message';
import { checkRetryBackoff, type RetryBackoff } from './onboarding/retry';
import { DAY_MS } from './policy';
import type { Log, ReconcileQueuePort } from './sync/ports';
import { DEFAULT_RECONCILE_SETTINGS, type ReconcileDeps, type ReconcileSettings } from './sync/settings';

/**
 * Explicit endpoints for tests and benchmarks that run several local stacks in one process; in normal use
 * they are absent and the SDK reads `AWS_ENDPOINT_URL_<SERVICE>` itself.
 */
export interface Endpoints {
  readonly dynamodb?: string;
  readonly chime?: string;
  readonly sqs?: string;
  readonly eventbridge?: string;
}

export interface RuntimeOptions {
  readonly endpoints?: Endpoints;
  readonly reconcile?: Partial<ReconcileSettings>;
  /** SDK attempts per Chime call (first included). */
  readonly chimeMaxAttempts?: number;
}

const silentLog: Log = { info: () => {}, warn: () => {}, error: () => {} };

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

/**
 * The one place that builds AWS clients and wires adapters. Lambda handlers build it once per container
 * (module scope) and the CLI once per command; endpoints come from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>`
 * handling, so the same code talks to AWS or to the offline stack. Everything is built lazily: a command
 * that only reads policies never opens a Chime connection.
 */
export class Runtime {
  readonly config: Config;
  readonly endpoints: Endpoints;
  readonly options: RuntimeOptions;
  /** Every Chime attempt of this process, per operation (metrics, benchmarks). */
  readonly chimeAttempts = new ChimeAttemptCounter();
  #dynamo: DynamoDBClient | undefined;
  #documents: DynamoDBDocumentClient | undefined;
  #chime: ChimeSDKIdentityClient | undefined;
  #quota: ChimeQuota | undefined;
  #sqs: SQSClient | undefined;
  #eventBridge: EventBridgeClient | undefined;
  #queues: SqsQueues | undefined;
  #transport: SqsTransport | undefined;

  constructor(config: Config = loadConfig(), options: RuntimeOptions = {}) {
    this.config = config;
    this.options = options;
    this.endpoints = options.endpoints ?? {};
  }

  private clientOptions(endpoint: string | undefined): { region: string; endpoint?: string } {
    return endpoint ? { region: this.config.region, endpoint } : { region: this.config.region };
  }

  get dynamo(): DynamoDBClient {
    this.#dynamo ??= new DynamoDBClient(this.clientOptions(this.endpoints.dynamodb));
    return this.#dynamo;
  }

  get documents(): DynamoDBDocumentClient {
    this.#documents ??= DynamoDBDocumentClient.from(this.dynamo, {
      marshallOptions: { removeUndefinedValues: true },
    });
    return this.#documents;
  }

  /**
   * One limiter per process: every Chime call of every use case shares it. With quota coordination on, its
   * rates are this process's share of the quotas among the processes using them now (leases in the state
   * table).
   */
  get chimeQuota(): ChimeQuota {
    this.#quota ??= createChimeQuota({
      quotaScale: this.config.quotaScale,
      accountQuotaShare: this.config.accountQuotaShare,
      fallbackShare: this.config.quotaFallbackShare,
      leaseTtlMs: this.config.quotaLeaseSeconds * 1000,
      ...(this.config.quotaCoordination
        ? { leases: new QuotaLeases(this.documents, this.config.stateTable) }
        : {}),
    });
    return this.#quota;
  }

  get chimeLimiter(): RateLimiter {
    return this.chimeQuota.limiter;
  }

  get chime(): ChimeSDKIdentityClient {
    this.#chime ??= createChimeClient({
      limiter: this.chimeQuota.callLimiter,
      region: this.config.region,
      observer: this.chimeAttempts.observe,
      ...(this.endpoints.chime ? { endpoint: this.endpoints.chime } : {}),
      ...(this.options.chimeMaxAttempts ? { maxAttempts: this.options.chimeMaxAttempts } : {}),
    });
    return this.#chime;
  }

  get chimeUsers(): ChimeUsers {
    return new ChimeUsers(this.chime);
  }

  /** Chime as the use cases' ports: failures become ChimeCallErrors (classified, without Chime's message). */
  get chimeUserPort(): ChimeUserPort {
    return new ChimeUserPort(this.chimeUsers);
  }

  get sqs(): SQSClient {
    this.#sqs ??= createSqsClient({
      region: this.config.region,
      ...(this.endpoints.sqs ? { endpoint: this.endpoints.sqs } : {}),
    });
    return this.#sqs;
  }

  get queues(): SqsQueues {
    this.#queues ??= new SqsQueues(this.sqs);
    return this.#queues;
  }

  get eventBridge(): EventBridgeClient {
    this.#eventBridge ??= new EventBridgeClient(this.clientOptions(this.endpoints.eventbridge));
    return this.#eventBridge;
  }

  get events(): EventPublisher {
    return new EventPublisher(this.eventBridge, { busName: this.config.eventBus });
  }

  get policyStore(): PolicyStore {
    return new PolicyStore(this.documents, {
      policyTable: this.config.policyTable,
      stateTable: this.config.stateTable,
    });
  }

  get ledger(): Ledger {
    return new Ledger(this.documents, this.config.stateTable);
  }

  get notices(): Notices {
    return new Notices(this.documents, this.config.stateTable);
  }

  get runs(): RunStore {
    return new RunStore(this.documents, this.config.stateTable);
  }

  /** The runtime side of the queues (send, visibility, dead-letter), for the queue driver. */
  get transport(): SqsTransport {
    this.#transport ??= new SqsTransport(this.queues, this.config);
    return this.#transport;
  }

  /** The reconcile queue as the sync's start and continuation port (Lambda mode). */
  reconcileQueue(): ReconcileQueuePort {
    return { send: (messages) => this.transport.send('reconcile', messages) };
  }

  /** The one queue driver, over this runtime's queues. */
  queueDriver<Message>(options: Omit<QueueDriverOptions<Message>, 'transport'>): QueueDriver<Message> {
    return new QueueDriver({ ...options, transport: this.transport });
  }

  /** Wires the reconcile use case; the caller supplies what depends on the invocation. */
  reconcileDeps(invocation: {
    readonly queue?: ReconcileQueuePort;
    readonly log?: Log;
    readonly remainingTimeMs?: () => number;
    /** The message's receive count (1 in pull mode). */
    readonly attempt?: number;
    readonly finalAttempt: boolean;
    readonly now?: () => number;
  }): ReconcileDeps {
    return {
      policies: this.policyStore,
      users: this.chimeUserPort,
      ledger: this.ledger,
      runs: this.runs,
      events: this.events,
      notices: this.notices,
      queue: invocation.queue ?? this.reconcileQueue(),
      log: invocation.log ?? silentLog,
      now: invocation.now ?? Date.now,
      remainingTimeMs: invocation.remainingTimeMs ?? (() => Number.POSITIVE_INFINITY),
      attempt: invocation.attempt ?? 1,
      finalAttempt: invocation.finalAttempt,
      settings: {
        ...DEFAULT_RECONCILE_SETTINGS,
        verifyIntervalMs: this.config.verifyIntervalDays * DAY_MS,
        seenRefreshMs: this.config.ledgerRefreshHours * 3_600_000,
        safetyMarginMs: this.config.syncSafetyMarginSeconds * 1000,
        maxPagesPerInvocation: this.config.syncMaxPagesPerInvocation || Number.POSITIVE_INFINITY,
        retry: { baseSeconds: this.config.syncRetryBaseSeconds, capSeconds: this.config.syncRetryCapSeconds },
        ...this.options.reconcile,
      },
    };
  }

  /**
   * Wires the onboarding use case behind the queue driver: Chime through the runtime's rate-limited client
   * (the limiter the sync uses too), the ledger, the event bus, the DLQ, and exactly-once through Powertools
   * idempotency. `observe` sees every result (metrics).
   */
  onboardingDriver(options: {
    readonly log: Log;
    readonly observe?: (result: MessageResult | { readonly rejected: string }, delivery?: Delivery) => void;
    readonly settings?: OnboardingSettings;
    readonly now?: () => number;
    readonly random?: () => number;
  }): Onboarding {
    const settings = options.settings ?? onboardingSettingsOf(this.config);
    const now = options.now ?? Date.now;
    const idempotency = dynamoIdempotency<OnboardOutcome>(this.dynamo, {
      tableName: this.config.idempotencyTable,
      expiresAfterSeconds: settings.idempotencyTtlSeconds,
    });
    const deps = {
      policies: cachedTenantPolicies(this.policyStore, settings.policyCacheMs, now),
      users: this.chimeUserPort,
      ledger: this.ledger,
      events: this.events,
      now,
    };
    const onboardOnce = async (request: OnboardRequest, key: string) => {
      const { result, replayed } = await idempotency.once(key, () => onboardRequest(request, key, deps));
      return { outcome: result, replayed };
    };
    return {
      registerLambdaContext: (context) => idempotency.registerLambdaContext(context),
      driver: this.queueDriver<OnboardRequest>({
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
          await this.events.publish([
            rejectedEvent(body, delivery.messageId, failure.reason, failure.detail),
          ]);
        },
      }),
    };
  }

  /** Releases sockets so a CLI process can exit promptly. */
  destroy(): void {
    // No release request here (destroy is synchronous): the lease expires within its TTL.
    this.#quota?.coordinator?.stop();
    this.#documents?.destroy();
    this.#dynamo?.destroy();
    this.#chime?.destroy();
    this.#sqs?.destroy();
    this.#eventBridge?.destroy();
  }
}
