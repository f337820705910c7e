import { appInstanceArnOfUser } from './arn';

/**
 * Amazon Chime SDK Identity API rate quotas (AWS defaults, requests per second; all adjustable per Region).
 * Source: AWS General Reference, "Amazon Chime SDK endpoints and quotas"; see research/chime-api.md §2.
 * PutAppInstanceUserExpirationSettings has no documented row of its own; we charge it to the per-AppInstance
 * user-writes quota as well, the conservative reading (an over-count only costs us speed, an under-count
 * costs 429s).
 */
export const DEFAULT_CHIME_QUOTAS = {
  /** Every Chime SDK Identity operation together, per account. */
  account: 50,
  /** Create/Update/DeleteAppInstanceUser and PutAppInstanceUserExpirationSettings, per AppInstance. */
  'user-writes': 10,
  /** DescribeAppInstanceUser, per AppInstance. */
  'describe-user': 20,
  /** ListAppInstanceUsers, per AppInstance. */
  'list-users': 10,
  /**
   * Create/Update/DeleteAppInstance. Documented "per AppInstance", but CreateAppInstance has no AppInstance
   * yet, so all three share one account-wide bucket (conservative; these calls are rare).
   */
  'app-instance-writes': 5,
  /** DescribeAppInstance, per AppInstance. */
  'describe-app-instance': 20,
  /** ListAppInstances, per account. */
  'list-app-instances': 10,
} as const;

export type QuotaName = keyof typeof DEFAULT_CHIME_QUOTAS;
export type QuotaLimits = Readonly<Record<QuotaName, number>>;

export interface QuotaOptions {
  /** Multiplies every quota (tests, benchmarks, raised quotas). */
  readonly quotaScale: number;
  /** Share (0..1] of each account-wide quota (per account and Region) this process may use. */
  readonly accountQuotaShare: number;
}

/**
 * The rates this process may use. Only the account bucket is multiplied by `accountQuotaShare`:
 * the limiter is in-process, and concurrent Lambdas each limit only their own calls, so the account-wide
 * 50 rps must be split between them up front (share = 1 / expected concurrency). The per-AppInstance
 * quotas are not split because work is partitioned by tenant (one AppInstance is reconciled by one
 * invocation at a time), so a process owns its AppInstance's budget. When that assumption is violated the
 * adaptive limiter backs off on the resulting 429s.
 */
export function quotaLimits({ quotaScale, accountQuotaShare }: QuotaOptions): QuotaLimits {
  if (!(quotaScale > 0) || !Number.isFinite(quotaScale)) throw new RangeError('quotaScale must be > 0');
  if (!(accountQuotaShare > 0 && accountQuotaShare <= 1)) {
    throw new RangeError('accountQuotaShare must be in (0, 1]');
  }
  const scaled = Object.fromEntries(
    Object.entries(DEFAULT_CHIME_QUOTAS).map(([name, rate]) => [name, rate * quotaScale]),
  ) as Record<QuotaName, number>;
  scaled.account *= accountQuotaShare;
  return scaled;
}

/**
 * Bucket keys. AWS counts every Chime quota per account and Region, so every key names its scope:
 * - `<quota>:<appInstanceArn>` for the per-AppInstance quotas (the ARN carries account and Region);
 * - `<quota>:<account>:<region>` for the account-wide ones (`account`, `list-app-instances`,
 *   `app-instance-writes`), so that two tenants in two Regions (or two accounts) each get their own.
 * A bare `<quota>` (no scope) is the account-wide bucket of a limiter that knows no scopes (tests).
 */
export const ACCOUNT_BUCKET = 'account';

/** An account and Region, whose Chime quotas are counted together. */
export interface QuotaScope {
  readonly account: string;
  readonly region: string;
}

/**
 * The account of a client whose credentials are the process's own: the product never needs its number (every
 * call it makes names an AppInstance, whose ARN gives the account), only calls without one fall back to it.
 */
export const OWN_ACCOUNT = 'own';

/** `arn:<partition>:chime:<region>:<account>:app-instance/<id>[/...]`: its account and Region. */
const APP_INSTANCE_SCOPE = /^arn:[^:]+:chime:([^:]+):([^:]+):app-instance\//;

/** The account and Region an AppInstance (or AppInstanceUser) ARN names, or undefined when it is not one. */
export function scopeOfArn(arn: string): QuotaScope | undefined {
  const match = APP_INSTANCE_SCOPE.exec(arn);
  return match?.[1] && match[2] ? { region: match[1], account: match[2] } : undefined;
}

/** The account-wide bucket of a quota in a scope. */
export function accountWideBucket(quota: QuotaName, scope: QuotaScope): string {
  return `${quota}:${scope.account}:${scope.region}`;
}

interface OperationQuota {
  readonly quota: QuotaName;
  readonly perAppInstance: boolean;
}

const OPERATION_QUOTAS: Readonly<Record<string, OperationQuota>> = {
  CreateAppInstanceUser: { quota: 'user-writes', perAppInstance: true },
  UpdateAppInstanceUser: { quota: 'user-writes', perAppInstance: true },
  DeleteAppInstanceUser: { quota: 'user-writes', perAppInstance: true },
  PutAppInstanceUserExpirationSettings: { quota: 'user-writes', perAppInstance: true },
  DescribeAppInstanceUser: { quota: 'describe-user', perAppInstance: true },
  ListAppInstanceUsers: { quota: 'list-users', perAppInstance: true },
  CreateAppInstance: { quota: 'app-instance-writes', perAppInstance: false },
  UpdateAppInstance: { quota: 'app-instance-writes', perAppInstance: false },
  DeleteAppInstance: { quota: 'app-instance-writes', perAppInstance: false },
  DescribeAppInstance: { quota: 'describe-app-instance', perAppInstance: true },
  ListAppInstances: { quota: 'list-app-instances', perAppInstance: false },
};

function stringField(input: unknown, field: string): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const value = (input as Record<string, unknown>)[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function appInstanceArnOf(input: unknown): string | undefined {
  const direct = stringField(input, 'AppInstanceArn');
  if (direct) return direct;
  const userArn = stringField(input, 'AppInstanceUserArn');
  return userArn ? appInstanceArnOfUser(userArn) : undefined;
}

/**
 * The buckets one call consumes. `operation` is the API name, with or without the SDK's `Command` suffix.
 * Every call takes a token of its scope's account bucket; operations with a documented rate also take one
 * from their own bucket. The scope is the one the request's ARN names; a request without a usable ARN
 * (ListAppInstances, or a per-AppInstance call that will fail validation) is charged to `clientScope`, the
 * Region and account of the client that sends it (unscoped keys when none is given).
 */
export function bucketKeysFor(operation: string, input: unknown, clientScope?: QuotaScope): string[] {
  const name = operation.endsWith('Command') ? operation.slice(0, -'Command'.length) : operation;
  const specific = OPERATION_QUOTAS[name];
  const appInstanceArn = appInstanceArnOf(input);
  const arnScope = appInstanceArn === undefined ? undefined : scopeOfArn(appInstanceArn);
  const scope = arnScope ?? clientScope;
  const bucket = (quota: QuotaName) => (scope ? accountWideBucket(quota, scope) : quota);
  if (!specific) return [bucket('account')];
  if (!specific.perAppInstance) return [bucket('account'), bucket(specific.quota)];
  return arnScope ? [bucket('account'), `${specific.quota}:${appInstanceArn}`] : [bucket('account')];
}

/** The quota a bucket key counts against. */
export function quotaOfBucket(key: string): QuotaName {
  const separator = key.indexOf(':');
  return (separator === -1 ? key : key.slice(0, separator)) as QuotaName;
}

/** Whether a key is an account bucket (`account`, of any scope). */
export function isAccountBucket(key: string): boolean {
  return quotaOfBucket(key) === ACCOUNT_BUCKET;
}

/**
 * The account bucket of a key's scope: the limiter's noise reference for it (rate-limiter.ts), since every
 * call of that account and Region draws on it. Unscoped keys refer to the bare `account`.
 */
export function accountBucketOf(key: string): string {
  const separator = key.indexOf(':');
  if (separator === -1) return ACCOUNT_BUCKET;
  const rest = key.slice(separator + 1);
  if (!rest.startsWith('arn:')) return `${ACCOUNT_BUCKET}:${rest}`;
  const scope = scopeOfArn(rest);
  return scope ? accountWideBucket(ACCOUNT_BUCKET, scope) : ACCOUNT_BUCKET;
}

/** The configured rate of a bucket key produced by `bucketKeysFor`. */
export function rateForBucket(limits: QuotaLimits, key: string): number {
  const quota = quotaOfBucket(key);
  const rate = limits[quota];
  if (rate === undefined) throw new RangeError(`unknown quota bucket: ${quota}`);
  return rate;
}
