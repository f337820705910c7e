import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ActivityStore } from '../aws/activity';
import { type ClientTimeouts, requestHandlerOptions } from '../aws/client-timeouts';
import { IssuedPlans } from '../aws/issued-plans';
import { Ledger } from '../aws/ledger';
import { Notices } from '../aws/notices';
import { PolicyStore } from '../aws/policy-store';
import { type AwsRequestObserver, observeRequests } from '../aws/request-observer';
import { RunStore } from '../aws/runs';
import { type Config, loadConfig } from '../config';
import type { ReconcileSettings } from '../sync/settings';

/**
 * Explicit endpoints for tests and benchmarks that run several local stacks in one process; in normal use
 * they are absent and the SDK reads `AWS_ENDPOINT_URL_<SERVICE>` itself.
 */
export interface Endpoints {
  readonly dynamodb?: string;
  readonly chime?: string;
  readonly sqs?: string;
  readonly eventbridge?: string;
  /** STS, for the tenants' roles (otherwise the SDK reads AWS_ENDPOINT_URL_STS). */
  readonly sts?: string;
}

export interface RuntimeOptions {
  readonly endpoints?: Endpoints;
  readonly reconcile?: Partial<ReconcileSettings>;
  /** SDK attempts per Chime call (first included). */
  readonly chimeMaxAttempts?: number;
  /** Connection and socket timeouts of the DynamoDB, SQS and EventBridge clients (default AWS_CLIENT_TIMEOUTS). */
  readonly clientTimeouts?: ClientTimeouts;
  /**
   * Told of every DynamoDB, SQS and EventBridge request, DynamoDB's with the capacity it consumed
   * (shared/aws/request-observer.ts): what the cost benchmark measures. Absent in production.
   */
  readonly observeRequests?: AwsRequestObserver;
}

/**
 * The DynamoDB half of the composition root: the stores (policies, ledger, runs, notices, issued plans,
 * activity) over one DynamoDB client. `Runtime` (shared/composition-root.ts) extends it with Chime, SQS,
 * EventBridge and the use cases' wiring. It is a module of its own so that what needs only the stores (the
 * CLI's `policy list`, `policy get`, `policy history`) loads only the DynamoDB client, not every SDK client
 * and Powertools: module loading is most of such a command's time.
 */
export class StoreRuntime {
  readonly config: Config;
  readonly endpoints: Endpoints;
  readonly options: RuntimeOptions;
  #dynamo: DynamoDBClient | undefined;
  #documents: DynamoDBDocumentClient | undefined;

  constructor(config: Config = loadConfig(), options: RuntimeOptions = {}) {
    this.config = config;
    this.options = options;
    this.endpoints = options.endpoints ?? {};
  }

  /** Region, endpoint, and the timeouts that turn a silent service into a retryable error (client-timeouts.ts). */
  protected clientOptions(endpoint: string | undefined) {
    const timeouts = requestHandlerOptions(this.options.clientTimeouts);
    return endpoint
      ? { region: this.config.region, endpoint, ...timeouts }
      : { region: this.config.region, ...timeouts };
  }

  /** The client, told to the runtime's request observer when there is one (the cost benchmark). */
  protected observed<C extends { readonly middlewareStack: object }>(
    client: C,
    service: 'dynamodb' | 'sqs' | 'eventbridge',
  ): C {
    const observer = this.options.observeRequests;
    return observer ? observeRequests(client, service, observer) : client;
  }

  get dynamo(): DynamoDBClient {
    this.#dynamo ??= this.observed(
      new DynamoDBClient(this.clientOptions(this.endpoints.dynamodb)),
      'dynamodb',
    );
    return this.#dynamo;
  }

  get documents(): DynamoDBDocumentClient {
    this.#documents ??= DynamoDBDocumentClient.from(this.dynamo, {
      marshallOptions: { removeUndefinedValues: true },
    });
    return this.#documents;
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

  /** The plans `plan --out` issued, which `sync --apply` consumes. */
  get issuedPlans(): IssuedPlans {
    return new IssuedPlans(this.documents, this.config.stateTable);
  }

  /** Last activity of users (renewal), beside the ledger in the state table. */
  get activity(): ActivityStore {
    return new ActivityStore(this.documents, this.config.stateTable);
  }

  /** Releases sockets so a CLI process can exit promptly. */
  destroy(): void {
    this.#documents?.destroy();
    this.#dynamo?.destroy();
  }
}
