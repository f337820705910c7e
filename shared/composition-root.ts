import type { ChimeSDKIdentityClient } from '@aws-sdk/client-chime-sdk-identity';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSRecord } from 'aws-lambda';
import { EventPublisher } from './aws/events';
import { dynamoIdempotency } from './aws/idempotency';
import { Ledger } from './aws/ledger';
import { PolicyStore } from './aws/policy-store';
import { createSqsClient, SqsQueues } from './aws/queues';
import { RunStore } from './aws/runs';
import { ChimeAttemptCounter, createChimeClient, createChimeRateLimiter } from './chime/client';
import type { RateLimiter } from './chime/rate-limiter';
import { ChimeUserPort } from './chime/user-port';
import { ChimeUsers } from './chime/users';
import { type Config, loadConfig } from './config';
import { type OnboardOutcome, onboardRequest } from './onboarding/onboard-request';
import { cachedTenantPolicies } from './onboarding/policy-cache';
import { type MessageResult, processOnboardingMessage } from './onboarding/process-message';
import { checkRetryBackoff, type RetryBackoff } from './onboarding/retry';
import { DAY_MS } from './policy';
import { type QueueKind, queueNamesOf } from './queue-settings';
import type { ReconcileMessage } from './sync/messages';
import type { Log, ReconcileQueuePort } from './sync/ports';
import {
  DEFAULT_RECONCILE_SETTINGS,
  type ReconcileDeps,
  type ReconcileSettings,
} from './sync/reconcile-tenant';

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
  processRecord(record: SQSRecord): Promise<MessageResult>;
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
  #limiter: RateLimiter | undefined;
  #sqs: SQSClient | undefined;
  #eventBridge: EventBridgeClient | undefined;
  #queues: SqsQueues | undefined;

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

  /** One limiter per process: every Chime call of every use case shares it. */
  get chimeLimiter(): RateLimiter {
    this.#limiter ??= createChimeRateLimiter({
      quotaScale: this.config.quotaScale,
      accountQuotaShare: this.config.accountQuotaShare,
    });
    return this.#limiter;
  }

  get chime(): ChimeSDKIdentityClient {
    this.#chime ??= createChimeClient({
      limiter: this.chimeLimiter,
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

  get runs(): RunStore {
    return new RunStore(this.documents, this.config.stateTable);
  }

  /** The reconcile queue as the sync's continuation port (Lambda mode). */
  reconcileQueue(): ReconcileQueuePort {
    const queues = this.queues;
    const name = this.config.reconcileQueue;
    return {
      send: async (messages: readonly ReconcileMessage[]) => {
        const url = await queues.resolveQueueUrl(name);
        await queues.sendBatch(
          url,
          messages.map((message) => ({ body: JSON.stringify(message) })),
        );
      },
    };
  }

  /**
   * Copies a message that can never succeed to its queue's DLQ at once, with the reason as attributes
   * (the record is then reported successful, so SQS deletes it: nothing is retried in a loop or lost).
   */
  async deadLetter(
    kind: QueueKind,
    record: {
      readonly body: string;
      readonly attributes: {
        readonly ApproximateReceiveCount?: string;
        readonly ApproximateFirstReceiveTimestamp?: string;
      };
    },
    reason: string,
    detail: string,
  ): Promise<void> {
    const names = queueNamesOf(this.config, kind);
    const url = await this.queues.resolveQueueUrl(names.deadLetterQueue);
    const firstReceivedAt = Number(record.attributes.ApproximateFirstReceiveTimestamp);
    await this.queues.sendToDeadLetter(url, {
      body: record.body,
      reason,
      detail,
      sourceQueue: names.queue,
      receiveCount: Number(record.attributes.ApproximateReceiveCount ?? 1),
      ...(Number.isFinite(firstReceivedAt) ? { firstReceivedAt } : {}),
    });
  }

  /** Wires the reconcile use case; the caller supplies what depends on the invocation. */
  reconcileDeps(invocation: {
    readonly queue?: ReconcileQueuePort;
    readonly log?: Log;
    readonly remainingTimeMs?: () => number;
    readonly finalAttempt: boolean;
    readonly now?: () => number;
  }): ReconcileDeps {
    return {
      policies: this.policyStore,
      users: this.chimeUserPort,
      ledger: this.ledger,
      runs: this.runs,
      events: this.events,
      queue: invocation.queue ?? this.reconcileQueue(),
      log: invocation.log ?? silentLog,
      now: invocation.now ?? Date.now,
      remainingTimeMs: invocation.remainingTimeMs ?? (() => Number.POSITIVE_INFINITY),
      finalAttempt: invocation.finalAttempt,
      settings: {
        ...DEFAULT_RECONCILE_SETTINGS,
        verifyIntervalMs: this.config.verifyIntervalDays * DAY_MS,
        seenRefreshMs: this.config.ledgerRefreshHours * 3_600_000,
        safetyMarginMs: this.config.syncSafetyMarginSeconds * 1000,
        maxPagesPerInvocation: this.config.syncMaxPagesPerInvocation || Number.POSITIVE_INFINITY,
        ...this.options.reconcile,
      },
    };
  }

  /**
   * Wires the onboarding use case: Chime through the runtime's rate-limited client (the limiter the sync
   * uses too), the ledger, the event bus, the DLQ, and exactly-once through Powertools idempotency.
   */
  onboarding(options: {
    readonly log: Log;
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
    return {
      registerLambdaContext: (context) => idempotency.registerLambdaContext(context),
      processRecord: (record) =>
        processOnboardingMessage(
          {
            messageId: record.messageId,
            body: record.body,
            receiveCount: Number(record.attributes.ApproximateReceiveCount ?? 1),
          },
          {
            onboardOnce: async (request, key) => {
              const { result, replayed } = await idempotency.once(key, () =>
                onboardRequest(request, key, deps),
              );
              return { outcome: result, replayed };
            },
            deadLetter: (reason, detail) => this.deadLetter('onboarding', record, reason, detail),
            retryLater: async (delaySeconds) => {
              // The queue the record came from (its event source ARN's last part) gets the retry delay.
              const source = record.eventSourceARN?.split(':')[5] || this.config.onboardingQueue;
              const url = await this.queues.resolveQueueUrl(source);
              await this.queues.changeVisibility(url, record.receiptHandle, delaySeconds);
            },
            events: this.events,
            log: options.log,
            backoff: settings.retry,
            ...(options.random ? { random: options.random } : {}),
          },
        ),
    };
  }

  /** Releases sockets so a CLI process can exit promptly. */
  destroy(): void {
    this.#documents?.destroy();
    this.#dynamo?.destroy();
    this.#chime?.destroy();
    this.#sqs?.destroy();
    this.#eventBridge?.destroy();
  }
}
