import type { ChimeSDKIdentityClient } from '@aws-sdk/client-chime-sdk-identity';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import type { z } from 'zod';
import { activityMessageSchema } from './activity/message';
import { batchWinners } from './activity/record';
import { ActivityStore } from './aws/activity';
import { DeadLetterTools } from './aws/dead-letters';
import { EventPublisher } from './aws/events';
import { dynamoIdempotency } from './aws/idempotency';
import { Ledger } from './aws/ledger';
import { Notices } from './aws/notices';
import { PolicyStore } from './aws/policy-store';
import { type Delivery, describeInvalidBody, QueueDriver, type QueueDriverOptions } from './aws/queue-driver';
import { SqsQueues } from './aws/queues';
import { QuotaLeases } from './aws/quota-leases';
import { RunStore } from './aws/runs';
import { createSqsClient } from './aws/sqs';
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
import type { ActivityEvent, Log, ReconcileQueuePort } from './sync/ports';
import { DEFAULT_RECONCILE_SETTINGS, type ReconcileDeps, type ReconcileSettings } from './sync/settings';
import type { UserRemovedDeps } from './sync/user-removed';

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

  /** The operator's DLQ tools (`dlq list`, `dlq redrive`). */
  get deadLetters(): DeadLetterTools {
    return new DeadLetterTools(this.sqs, this.queues);
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

  /** The sync's settings from the configuration (and the runtime's overrides). */
  get reconcileSettings(): ReconcileSettings {
    return {
      ...DEFAULT_RECONCILE_SETTINGS,
      verifyIntervalMs: this.config.verifyIntervalDays * DAY_MS,
      seenRefreshMs: this.config.ledgerRefreshHours * 3_600_000,
      safetyMarginMs: this.config.syncSafetyMarginSeconds * 1000,
      maxPagesPerInvocation: this.config.syncMaxPagesPerInvocation || Number.POSITIVE_INFINITY,
      retry: { baseSeconds: this.config.syncRetryBaseSeconds, capSeconds: this.config.syncRetryCapSeconds },
      ...this.options.reconcile,
    };
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
      activity: this.activity,
      runs: this.runs,
      events: this.events,
      notices: this.notices,
      queue: invocation.queue ?? this.reconcileQueue(),
      log: invocation.log ?? silentLog,
      now: invocation.now ?? Date.now,
      remainingTimeMs: invocation.remainingTimeMs ?? (() => Number.POSITIVE_INFINITY),
      attempt: invocation.attempt ?? 1,
      finalAttempt: invocation.finalAttempt,
      settings: this.reconcileSettings,
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

  /** Last activity of users (renewal), beside the ledger in the state table. */
  get activity(): ActivityStore {
    return new ActivityStore(this.documents, this.config.stateTable);
  }

  /**
   * The activity queue's driver for one SQS batch: each valid record is one conditional update, except
   * that a user's older events in the same batch are settled by its latest one (coalescing).
   */
  activityDriver(
    event: SQSEvent,
    options: {
      readonly log: Log;
      readonly observe?: (outcome: 'advanced' | 'stale' | 'coalesced') => void;
      readonly random?: () => number;
    },
  ): QueueDriver<ActivityEvent> {
    const store = this.activity;
    const winners = batchWinners(
      event.Records.map((record) => {
        const parsed = parseJson(record.body);
        const message = activityMessageSchema.safeParse(parsed);
        return { messageId: record.messageId, event: message.success ? message.data : null };
      }),
    );
    return this.queueDriver<ActivityEvent>({
      kind: 'activity',
      schema: activityMessageSchema as unknown as z.ZodType<ActivityEvent>,
      retry: { baseSeconds: 5, capSeconds: 300 },
      log: options.log,
      ...(options.random ? { random: options.random } : {}),
      describeInvalid: (body) => describeInvalidBody(activityMessageSchema, body),
      handle: async (activity, delivery) => {
        if (!winners.has(delivery.messageId)) {
          options.observe?.('coalesced');
          return undefined;
        }
        options.observe?.(await store.record(activity));
        return undefined;
      },
    });
  }

  /** Chime's own deletions (CloudTrail through EventBridge) as the user-removed use case needs them. */
  userRemovedDeps(options: { readonly log: Log; readonly now?: () => number }): UserRemovedDeps {
    const store = this.policyStore;
    const ledger = this.ledger;
    return {
      tenantOf: (appInstanceArn) => store.tenantOfAppInstance(appInstanceArn),
      markRemoved: (tenantId, userId, at, reason) => ledger.markRemoved(tenantId, userId, at, reason),
      events: this.events,
      log: options.log,
      now: options.now ?? Date.now,
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

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
