import type { ChimeSDKIdentityClient } from '@aws-sdk/client-chime-sdk-identity';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { DeadLetterTools } from './aws/dead-letters';
import { EventPublisher } from './aws/events';
import type { PolicyStore } from './aws/policy-store';
import { SqsQueues } from './aws/queues';
import { QuotaLeases } from './aws/quota-leases';
import { createSqsClient } from './aws/sqs';
import { SqsTransport } from './aws/sqs-transport';
import { AssumedRoles, roleSessionName } from './chime/assumed-roles';
import { ChimeAttemptCounter, type ChimeQuota, createChimeQuota } from './chime/client';
import { ChimeClients } from './chime/clients';
import type { RateLimiter } from './chime/rate-limiter';
import { ChimeUserPort } from './chime/user-port';
import { ChimeUsers } from './chime/users';
import { type ActivityRecorder, wireActivity } from './composition/activity';
import { AccessNotingPolicyStore, ChimeAccess } from './composition/chime-access';
import { type Onboarding, type OnboardingOptions, wireOnboarding } from './composition/onboarding';
import { StoreRuntime } from './composition/stores';
import { type Log, silentLog } from './contracts/log';
import { DAY_MS, type TenantAccess } from './policy';
import type { ReconcileQueuePort } from './sync/ports';
import { DEFAULT_RECONCILE_SETTINGS, type ReconcileDeps, type ReconcileSettings } from './sync/settings';
import type { UserRemovedDeps } from './sync/user-removed';

export {
  type Onboarding,
  type OnboardingOptions,
  type OnboardingSettings,
  onboardingSettingsOf,
} from './composition/onboarding';

export type { Endpoints, RuntimeOptions } from './composition/stores';

/**
 * The one place that builds AWS clients and wires adapters. Lambda handlers build it once per container
 * (module scope) and the CLI once per command; endpoints come from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>`
 * handling, so the same code talks to AWS or to the offline stack. Everything is built lazily: a command
 * that only reads policies never opens a Chime connection. The stores over DynamoDB are StoreRuntime's
 * (shared/composition/stores.ts), a module of its own: what needs only them loads no other SDK client.
 */
export class Runtime extends StoreRuntime {
  /** Every Chime attempt of this process, per operation (metrics, benchmarks). */
  readonly chimeAttempts = new ChimeAttemptCounter();
  #chimeClients: ChimeClients | undefined;
  #sts: STSClient | undefined;
  readonly #chimeAccess = new ChimeAccess(() => this.chimeClients);
  #quota: ChimeQuota | undefined;
  #sqs: SQSClient | undefined;
  #eventBridge: EventBridgeClient | undefined;
  #queues: SqsQueues | undefined;
  #transport: SqsTransport | undefined;

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

  /**
   * The process's Chime clients: one per Region and credentials, built on first use, all sharing the one
   * limiter (shared/chime/clients.ts). A tenant's calls go through `chimeAccess`, which picks its client.
   */
  get chimeClients(): ChimeClients {
    this.#chimeClients ??= new ChimeClients({
      limiter: this.chimeQuota.callLimiter,
      defaultRegion: this.config.region,
      observer: this.chimeAttempts.observe,
      roles: new AssumedRoles(() => this.sts, roleSessionName(process.env.AWS_LAMBDA_FUNCTION_NAME)),
      ...(this.endpoints.chime ? { endpoint: this.endpoints.chime } : {}),
      ...(this.options.chimeMaxAttempts ? { maxAttempts: this.options.chimeMaxAttempts } : {}),
    });
    return this.#chimeClients;
  }

  /** Which client each AppInstance's calls use: the Region of its ARN, its policy's role if it has one. */
  get chimeAccess(): ChimeAccess {
    return this.#chimeAccess;
  }

  /** The client of the configured Region with the process's own credentials (tools and tests). */
  get chime(): ChimeSDKIdentityClient {
    return this.chimeClients.forRegion(this.config.region);
  }

  /** The client for a tenant's AppInstance, as a given (perhaps not yet stored) policy reaches it. */
  chimeFor(appInstanceArn: string, access?: TenantAccess): ChimeSDKIdentityClient {
    return this.chimeClients.forAppInstance(appInstanceArn, access);
  }

  /** STS in the configured Region with the process's own credentials: only to assume tenants' roles. */
  get sts(): STSClient {
    this.#sts ??= new STSClient(this.clientOptions(this.endpoints.sts));
    return this.#sts;
  }

  get chimeUsers(): ChimeUsers {
    return new ChimeUsers(this.chimeAccess);
  }

  /** Chime as the use cases' ports: failures become ChimeCallErrors (classified, without Chime's message). */
  get chimeUserPort(): ChimeUserPort {
    return new ChimeUserPort(this.chimeUsers);
  }

  /** The same, for one queue record: its calls still waiting for rate tokens give up when `deadline` aborts. */
  chimeUserPortUntil(deadline: AbortSignal): ChimeUserPort {
    return new ChimeUserPort(new ChimeUsers(this.chimeAccess, deadline));
  }

  get sqs(): SQSClient {
    this.#sqs ??= this.observed(
      createSqsClient({
        region: this.config.region,
        ...(this.options.clientTimeouts ? { timeouts: this.options.clientTimeouts } : {}),
        ...(this.endpoints.sqs ? { endpoint: this.endpoints.sqs } : {}),
      }),
      'sqs',
    );
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
    this.#eventBridge ??= this.observed(
      new EventBridgeClient(this.clientOptions(this.endpoints.eventbridge)),
      'eventbridge',
    );
    return this.#eventBridge;
  }

  get events(): EventPublisher {
    return new EventPublisher(this.eventBridge, { busName: this.config.eventBus });
  }

  /** Every current policy it reads tells `chimeAccess` how to reach its AppInstance. */
  override get policyStore(): PolicyStore {
    return new AccessNotingPolicyStore(
      this.documents,
      { policyTable: this.config.policyTable, stateTable: this.config.stateTable },
      this.chimeAccess,
    );
  }

  /** The runtime side of the queues (send, visibility, dead-letter), for the queue driver (sqsFunction). */
  get transport(): SqsTransport {
    this.#transport ??= new SqsTransport(this.queues, this.config);
    return this.#transport;
  }

  /** The reconcile queue as the sync's start and continuation port (Lambda mode). */
  reconcileQueue(): ReconcileQueuePort {
    return { send: (messages) => this.transport.send('reconcile', messages) };
  }

  /** The sync's settings from the configuration (and the runtime's overrides). */
  get reconcileSettings(): ReconcileSettings {
    return {
      ...DEFAULT_RECONCILE_SETTINGS,
      verifyIntervalMs: this.config.verifyIntervalDays * DAY_MS,
      seenRefreshMs: this.config.ledgerRefreshHours * 3_600_000,
      safetyMarginMs: this.config.syncSafetyMarginSeconds * 1000,
      maxPagesPerInvocation: this.config.syncMaxPagesPerInvocation || Number.POSITIVE_INFINITY,
      ...this.options.reconcile,
    };
  }

  /** Wires the reconcile use case; the caller supplies what depends on the invocation. */
  reconcileDeps(
    invocation: {
      readonly queue?: ReconcileQueuePort;
      readonly log?: Log;
      readonly remainingTimeMs?: () => number;
      readonly now?: () => number;
    } = {},
  ): ReconcileDeps {
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
      settings: this.reconcileSettings,
    };
  }

  /** Wires the onboarding use case (composition/onboarding.ts), once per process. */
  onboarding(options: OnboardingOptions = {}): Onboarding {
    return wireOnboarding(this, options);
  }

  /** Records activity events of a queue batch, coalesced per user (composition/activity.ts). */
  activityRecorder(): ActivityRecorder {
    return wireActivity(this);
  }

  /** Chime's own deletions (CloudTrail through EventBridge) as the user-removed use case needs them. */
  userRemovedDeps(options: { readonly log: Log; readonly now?: () => number }): UserRemovedDeps {
    const store = this.policyStore;
    const ledger = this.ledger;
    return {
      tenantOf: async (appInstanceArn) => {
        const tenantId = await store.tenantOfAppInstance(appInstanceArn);
        // The confirming Describe goes where the tenant's calls go: reading its policy tells chimeAccess the
        // AppInstance's client (its Region, and its role when the tenant is in another account).
        if (tenantId) await store.get(tenantId);
        return tenantId;
      },
      users: this.chimeUserPort,
      markRemoved: (tenantId, userId, at, reason) => ledger.markRemoved(tenantId, userId, at, reason),
      events: this.events,
      log: options.log,
      now: options.now ?? Date.now,
    };
  }

  /** Gives the process's Chime quota lease back now (end of an invocation); nothing if it holds none. */
  async releaseQuotaLease(): Promise<void> {
    await this.#quota?.coordinator?.release();
  }

  /** Releases sockets so a CLI process can exit promptly. */
  override destroy(): void {
    // No release request here (destroy is synchronous): the lease expires within its TTL.
    this.#quota?.coordinator?.stop();
    super.destroy();
    this.#chimeClients?.destroy();
    this.#sts?.destroy();
    this.#sqs?.destroy();
    this.#eventBridge?.destroy();
  }
}
