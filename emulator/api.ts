/**
 * The API's request path: route a rest-json request to its operation, bind and validate its members, apply
 * auth, quotas and injected faults, run the operation and write its response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorStats, FaultSettings } from './admin';
import { bindInput, type PreparedOperation, prepareOperations } from './binding';
import { type Caller, type CallLog, type CallRecord, callerOf, type Scope } from './caller';
import { ApiError, badRequest } from './errors';
import { parseJsonBody, readBody, requestHasBody, sendEmpty, sendJson } from './http';
import type { ServiceModel } from './model/types';
import type { OperationInput } from './operations/types';
import type { QuotaManager } from './quotas';
import { Router } from './router';
import type { ChimeIdentityService } from './service';
import type { ValidatorSet } from './validation';

export interface ApiContext {
  readonly service: ChimeIdentityService;
  readonly quotas: QuotaManager;
  /** false: no rate quotas at all. */
  readonly quotasEnabled: boolean;
  /** Whether a request needs a SigV4 Authorization header. */
  readonly requireAuth: boolean;
  readonly maxBodyBytes: number;
  readonly stats: EmulatorStats;
  /** Where an unsigned request acts, and the account of a key `accountOf` does not know. */
  readonly defaults: Scope;
  /** The account an access key belongs to (e.g. the local STS's role credentials); default: `defaults`. */
  readonly accountOf?: ((accessKeyId: string) => string | undefined) | undefined;
  /** The recent calls, with the access key each was signed with. */
  readonly callLog: CallLog;
  /** The fault settings now (the admin API replaces them). */
  faults(): FaultSettings;
  /** Told of every request that may change the state (for the state file). */
  changed(): void;
}

interface RoutedRequest {
  readonly operation: PreparedOperation;
  readonly labels: Record<string, string>;
  readonly query: URLSearchParams;
  readonly caller: Caller;
  /** Its entry in the call log (ARN and status filled in as they become known). */
  readonly record: CallRecord;
}

const EMPTY_QUERY = new URLSearchParams();
const EMPTY_BODY: Readonly<Record<string, unknown>> = Object.freeze({});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function count(bucket: Record<string, number>, operation: string): void {
  bucket[operation] = (bucket[operation] ?? 0) + 1;
}

export class ApiFront {
  private readonly router: Router;
  private readonly prepared: Map<string, PreparedOperation>;

  constructor(
    model: ServiceModel,
    validators: ValidatorSet,
    private readonly context: ApiContext,
  ) {
    this.router = new Router(model);
    this.prepared = prepareOperations(model, validators);
  }

  /** Handles one API request; failures go to `onError`, which answers them. */
  handle(
    request: IncomingMessage,
    response: ServerResponse,
    method: string,
    path: string,
    queryString: string,
    onError: (error: unknown) => void,
  ): void {
    try {
      const routed = this.route(request, method, path, queryString);
      response.once('finish', () => {
        routed.record.status = response.statusCode;
      });
      count(this.context.stats.calls, routed.operation.name);
      // Every operation that can change state is a POST, PUT or DELETE in the model. It is marked changed
      // once it has run: marked on arrival, a save between then and the change (the body is read
      // asynchronously) would clear the mark and keep the state from before the change.
      const mutates = method !== 'GET';
      const done = () => {
        if (mutates) this.context.changed();
      };
      if (requestHasBody(request)) {
        readBody(request, this.context.maxBodyBytes)
          .then((raw) => this.execute(request, response, routed, parseJsonBody(raw)))
          .finally(done)
          .catch(onError);
      } else {
        let pending: Promise<void> | undefined;
        try {
          pending = this.execute(request, response, routed, EMPTY_BODY);
        } finally {
          if (!pending) done();
        }
        pending?.finally(done).catch(onError);
      }
    } catch (error) {
      onError(error);
    }
  }

  private route(request: IncomingMessage, method: string, path: string, queryString: string): RoutedRequest {
    const segments = path.split('/').slice(1);
    if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
    const query = queryString ? new URLSearchParams(queryString) : EMPTY_QUERY;
    let match: ReturnType<Router['match']>;
    try {
      match = this.router.match(method, segments, query);
    } catch {
      throw badRequest(`path: ${path} is not valid percent-encoding`);
    }
    const operation = match && this.prepared.get(match.operation);
    if (!match || !operation) {
      throw new ApiError('NotFoundException', `no Chime SDK Identity operation matches ${method} ${path}`);
    }
    const caller = callerOf(request.headers.authorization, this.context.defaults, this.context.accountOf);
    const record: CallRecord = {
      at: new Date().toISOString(),
      operation: operation.name,
      accessKeyId: caller.accessKeyId ?? null,
      region: caller.region,
      account: caller.account,
      appInstanceArn: null,
      status: 0,
    };
    this.context.callLog.add(record);
    return { operation, labels: match.labels, query, caller, record };
  }

  /**
   * Auth, validation and quotas, then the operation. Synchronous unless latency is injected, so a plain
   * Describe costs no promise hops; returns the pending work when there is some.
   */
  private execute(
    request: IncomingMessage,
    response: ServerResponse,
    routed: RoutedRequest,
    body: unknown,
  ): Promise<void> | undefined {
    const { operation } = routed;
    const { context } = this;
    if (context.requireAuth && !request.headers.authorization?.startsWith('AWS4-HMAC-SHA256 ')) {
      throw new ApiError('UnauthorizedClientException', 'the request has no AWS SigV4 Authorization header');
    }
    const input = bindInput(operation, routed.labels, routed.query, body);
    const appInstanceArn = context.service.appInstanceOf(input);
    routed.record.appInstanceArn = appInstanceArn ?? null;
    const problem = operation.validate?.(input, '');
    if (problem) throw badRequest(problem);

    const { caller } = routed;
    if (context.quotasEnabled) {
      const where = `${caller.account} ${caller.region}`;
      const exhausted = context.quotas.admit(operation.name, appInstanceArn, where);
      if (exhausted) {
        count(context.stats.throttled, operation.name);
        throw new ApiError('ThrottledClientException', `rate exceeded for ${operation.name}: ${exhausted}`);
      }
    }
    const latencyMs = context.faults().latencyMs;
    if (latencyMs > 0) return sleep(latencyMs).then(() => this.run(response, operation, input, caller));
    this.run(response, operation, input, caller);
    return undefined;
  }

  private run(
    response: ServerResponse,
    operation: PreparedOperation,
    input: OperationInput,
    caller: Scope,
  ): void {
    this.injectFaults(operation.name);
    const handler = this.context.service.handlers[operation.name];
    // Unreachable while every model operation has a handler (the operation table's type requires it); guards
    // a model regenerated without rebuilding the emulator.
    if (!handler) {
      throw new ApiError('ServiceFailureException', `the emulator has no handler for ${operation.name}`);
    }
    const scope = { region: caller.region, account: caller.account };
    const output = this.context.service.within(scope, () => handler(input));
    const status = operation.definition.successCode;
    if (status === 204 || output === undefined) sendEmpty(response, status);
    else sendJson(response, status, output);
  }

  /** The admin API's injected faults: a throttle, an outage or a failure, at their rates. */
  private injectFaults(operation: string): void {
    const faults = this.context.faults();
    const { stats } = this.context;
    if (faults.throttleRate > 0 && Math.random() < faults.throttleRate) {
      stats.faults++;
      count(stats.throttled, operation);
      throw new ApiError('ThrottledClientException', `injected throttle for ${operation}`);
    }
    if (faults.serviceUnavailableRate > 0 && Math.random() < faults.serviceUnavailableRate) {
      stats.faults++;
      throw new ApiError('ServiceUnavailableException', `injected outage for ${operation}`);
    }
    if (faults.serviceFailureRate > 0 && Math.random() < faults.serviceFailureRate) {
      stats.faults++;
      throw new ApiError('ServiceFailureException', `injected failure for ${operation}`);
    }
  }
}
