import type { ChimeSDKIdentityClient } from '@aws-sdk/client-chime-sdk-identity';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EventPublisher } from './aws/events';
import { Ledger } from './aws/ledger';
import { PolicyStore } from './aws/policy-store';
import { createSqsClient, type QueueKind, queueNamesOf, SqsQueues } from './aws/queues';
import { QuotaLeases } from './aws/quota-leases';
import { RunStore } from './aws/runs';
import { ChimeAttemptCounter, type ChimeQuota, createChimeClient, createChimeQuota } from './chime/client';
import type { RateLimiter } from './chime/rate-limiter';
import { ChimeUsers } from './chime/users';
import { type Config, loadConfig } from './config';
import { DAY_MS } from './policy';
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
      users: this.chimeUsers,
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
