import {
  ChimeSDKIdentityClient,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-chime-sdk-identity';
import type {
  AwsCredentialIdentityProvider,
  FinalizeRequestMiddleware,
  InitializeMiddleware,
  MiddlewareStack,
} from '@smithy/types';
import { type ChimeErrorKind, classifyChimeError } from './errors';
import {
  CoordinatedRateLimiter,
  QuotaCoordinator,
  type QuotaCoordinatorOptions,
  type QuotaLeaseStore,
} from './quota-coordinator';
import {
  accountBucketOf,
  bucketKeysFor,
  type QuotaOptions,
  type QuotaScope,
  quotaLimits,
  rateForBucket,
} from './quotas';
import { type CallRateLimiter, RateLimiter, type RateLimiterOptions } from './rate-limiter';
import { ChimeRetryStrategy } from './retry-strategy';

export type ChimeCallOutcome = 'success' | 'throttled' | 'error';

/** One HTTP attempt (SDK retries are separate attempts). Carries no input or output: names are sensitive. */
export interface ChimeAttempt {
  /** API name without the `Command` suffix, e.g. `DescribeAppInstanceUser`. */
  readonly operation: string;
  readonly outcome: ChimeCallOutcome;
  /** Set when `outcome` is not `success`. */
  readonly errorKind?: ChimeErrorKind;
  /** Time spent waiting for rate tokens before the attempt was sent. */
  readonly waitedMs: number;
  /** Time from sending to the answer (or failure). */
  readonly durationMs: number;
}

export type ChimeAttemptObserver = (attempt: ChimeAttempt) => void;

export interface CreateChimeClientOptions {
  /** Every attempt of every call takes its tokens here; there is no way to build the client without one. */
  readonly limiter: CallRateLimiter;
  /** Total attempts per call, first one included. */
  readonly maxAttempts?: number;
  readonly region?: string;
  /** Explicit endpoint (tests, benchmarks); otherwise the SDK reads AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY. */
  readonly endpoint?: string;
  readonly observer?: ChimeAttemptObserver;
  /**
   * The account and Region this client's calls count against when a request names no AppInstance (its
   * ARN's scope wins otherwise; see quotas.ts). Absent: such calls take unscoped buckets.
   */
  readonly scope?: QuotaScope;
  /** Credentials other than the SDK's default chain (an assumed role's); the SDK caches what it returns. */
  readonly credentials?: AwsCredentialIdentityProvider;
}

export const DEFAULT_MAX_ATTEMPTS = 5;
/**
 * Keep-alive is on by default in SDK v3's Node handler. The account quota (50 rps) times a ~100 ms
 * round trip means a handful of requests in flight, so 50 sockets never limit throughput while still
 * bounding the pool if latency explodes; the timeouts turn a hung connection into a retryable TimeoutError.
 */
const MAX_SOCKETS = 50;
const CONNECTION_TIMEOUT_MS = 3_000;
const REQUEST_TIMEOUT_MS = 10_000;

type FinalizeMiddleware = FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes>;

function operationName(commandName: unknown): string {
  const name = typeof commandName === 'string' ? commandName : 'Unknown';
  return name.endsWith('Command') ? name.slice(0, -'Command'.length) : name;
}

function httpStatusOf(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Runs once per attempt: it sits in the finalizeRequest step right after `retryMiddleware` (so inside the
 * retry loop) and before signing (so a long wait never ages a signature).
 */
function rateLimitMiddleware(
  limiter: CallRateLimiter,
  observer: ChimeAttemptObserver | undefined,
  scope: QuotaScope | undefined,
) {
  const middleware: FinalizeMiddleware = (next, context) => async (args) => {
    const operation = operationName(context.commandName);
    const keys = bucketKeysFor(operation, args.input, scope);
    const queuedAt = performance.now();
    await limiter.acquire(keys, context[TOKEN_DEADLINE] as AbortSignal | undefined);
    const sentAt = performance.now();
    try {
      const result = await next(args);
      limiter.onSuccess(keys);
      observer?.({
        operation,
        outcome: 'success',
        waitedMs: sentAt - queuedAt,
        durationMs: performance.now() - sentAt,
      });
      return result;
    } catch (error) {
      const errorKind = classifyChimeError(error);
      if (errorKind === 'throttled') {
        limiter.onThrottled(keys);
      } else {
        // A 4xx answer other than 429 still means the service accepted our rate.
        const status = httpStatusOf(error);
        if (status !== undefined && status < 500) limiter.onSuccess(keys);
      }
      observer?.({
        operation,
        outcome: errorKind === 'throttled' ? 'throttled' : 'error',
        errorKind,
        waitedMs: sentAt - queuedAt,
        durationMs: performance.now() - sentAt,
      });
      throw error;
    }
  };
  return middleware;
}

export const RATE_LIMIT_MIDDLEWARE_NAME = 'chimeRateLimitMiddleware';

/** Where a command's token deadline travels from `untilDeadline` to the rate limit middleware. */
const TOKEN_DEADLINE = 'chimeLifecycleTokenDeadline';

/**
 * Makes every wait of `command` for rate tokens (its first attempt's and its retries') give up once
 * `deadline` aborts: the call then rejects with the signal's reason. Unlike the SDK's own `abortSignal`,
 * this leaves a request already sent alone: its answer still counts (a create Chime performed is not
 * thrown away), only what has not started yet stops.
 */
export function untilDeadline<Command extends { middlewareStack: { add(...args: never[]): void } }>(
  command: Command,
  deadline: AbortSignal | undefined,
): Command {
  if (!deadline) return command;
  const carry: InitializeMiddleware<object, object> = (next, context) => (args) => {
    context[TOKEN_DEADLINE] = deadline;
    return next(args);
  };
  // The middleware reads and writes only the context, never the command's input or output, so it fits every
  // command's stack whatever its types.
  (command.middlewareStack as unknown as MiddlewareStack<object, object>).add(carry, {
    step: 'initialize',
    name: 'chimeTokenDeadline',
  });
  return command;
}

/**
 * The only way the product builds a Chime SDK Identity client: rate limited on every attempt.
 * The endpoint comes from `AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY`, which the SDK reads itself.
 *
 * Retries: 5 attempts under ChimeRetryStrategy (retry-strategy.ts), up to 10 when the failures are throttles,
 * instead of the SDK's standard strategy
 * (3 attempts; throttles back off from a 1 s base, anything else from 50 ms, up to a 20 s cap, depending on
 * the @smithy/core release). Here the adaptive limiter does the pacing: every retry waits for tokens from
 * buckets that a 429 of ours has just slowed down, so a throttled retry only needs a small jitter to
 * de-synchronise it from the others, not a guess at the service's recovery time; 5xx and network errors,
 * which the limiter does not pace, keep full-jitter exponential backoff (base 100 ms, cap 5 s). The extra
 * attempts keep a short 429 burst (from other processes sharing the account quota) from surfacing as a
 * failed message, and the 5 s cap bounds one call's worst case well inside a Lambda timeout and an SQS
 * visibility timeout.
 */
export function createChimeClient(options: CreateChimeClientOptions): ChimeSDKIdentityClient {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw new RangeError('maxAttempts must be an integer >= 1');
  const client = new ChimeSDKIdentityClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    maxAttempts,
    retryStrategy: new ChimeRetryStrategy(maxAttempts),
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
      httpsAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      // Without it, this version of @smithy/node-http-handler only logs a warning at the request timeout
      // and the call waits on: a hung connection would hold the invocation until its function's timeout.
      throwOnRequestTimeout: true,
    },
  });
  client.middlewareStack.addRelativeTo(
    rateLimitMiddleware(options.limiter, options.observer, options.scope),
    {
      name: RATE_LIMIT_MIDDLEWARE_NAME,
      relation: 'after',
      toMiddleware: 'retryMiddleware',
    },
  );
  return client;
}

/** A limiter enforcing the Chime quotas, scaled as configured. */
export function createChimeRateLimiter(
  quotas: QuotaOptions,
  tuning: Omit<RateLimiterOptions, 'rateFor'> = {},
): RateLimiter {
  const limits = quotaLimits(quotas);
  return new RateLimiter({
    noiseReferenceKey: accountBucketOf,
    ...tuning,
    rateFor: (key) => rateForBucket(limits, key),
  });
}

export interface ChimeQuotaOptions extends QuotaOptions {
  /** Where the quota leases live; absent: no coordination, the account bucket gets `accountQuotaShare`. */
  readonly leases?: QuotaLeaseStore;
  /** Share of every quota while the lease store is unavailable. */
  readonly fallbackShare?: number;
  readonly leaseTtlMs?: number;
  readonly coordinator?: Omit<QuotaCoordinatorOptions, 'store' | 'limits' | 'fallbackShare'>;
  readonly tuning?: Omit<RateLimiterOptions, 'rateFor'>;
}

export interface ChimeQuota {
  /** The in-process limiter (stats, tests). */
  readonly limiter: RateLimiter;
  /** What the Chime client takes tokens from: the limiter, behind the coordinator when there is one. */
  readonly callLimiter: CallRateLimiter;
  readonly coordinator?: QuotaCoordinator;
}

/**
 * The process's share of the Chime quotas: coordinated through `leases` when given (the quota divided by
 * the processes drawing on it now, `accountQuotaShare` as an optional cap), else the static split.
 */
export function createChimeQuota(options: ChimeQuotaOptions): ChimeQuota {
  if (!options.leases) {
    const limiter = createChimeRateLimiter(options, options.tuning);
    return { limiter, callLimiter: limiter };
  }
  const limits = quotaLimits({ quotaScale: options.quotaScale, accountQuotaShare: 1 });
  const coordinator = new QuotaCoordinator({
    ...options.coordinator,
    store: options.leases,
    limits,
    accountShareCap: options.accountQuotaShare,
    fallbackShare: options.fallbackShare ?? 0.1,
    ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
  });
  const limiter = new RateLimiter({
    noiseReferenceKey: accountBucketOf,
    ...options.tuning,
    rateFor: (key) => coordinator.rateFor(key),
  });
  return { limiter, callLimiter: new CoordinatedRateLimiter(limiter, coordinator), coordinator };
}

export interface OperationCounts {
  attempts: number;
  throttled: number;
  errors: number;
}

/** Counts attempts per operation, for metrics (Powertools) and benchmarks. */
export class ChimeAttemptCounter {
  private readonly counts = new Map<string, OperationCounts>();

  readonly observe: ChimeAttemptObserver = (attempt) => {
    let counts = this.counts.get(attempt.operation);
    if (!counts) {
      counts = { attempts: 0, throttled: 0, errors: 0 };
      this.counts.set(attempt.operation, counts);
    }
    counts.attempts += 1;
    if (attempt.outcome === 'throttled') counts.throttled += 1;
    if (attempt.outcome === 'error') counts.errors += 1;
  };

  snapshot(): Record<string, OperationCounts> {
    return Object.fromEntries([...this.counts].map(([operation, counts]) => [operation, { ...counts }]));
  }

  total(): OperationCounts {
    const total = { attempts: 0, throttled: 0, errors: 0 };
    for (const counts of this.counts.values()) {
      total.attempts += counts.attempts;
      total.throttled += counts.throttled;
      total.errors += counts.errors;
    }
    return total;
  }
}
