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
  /** Share (0..1] of the account-wide quota this process may use. */
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

/** Bucket keys are `<quota>` for account-wide quotas and `<quota>:<appInstanceArn>` for per-AppInstance ones. */
export const ACCOUNT_BUCKET = 'account';

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
 * Every call takes an account token; operations with a documented rate also take a token from their own
 * bucket. A per-AppInstance operation whose input carries no usable ARN (it will fail validation anyway)
 * takes only the account token.
 */
export function bucketKeysFor(operation: string, input: unknown): string[] {
  const name = operation.endsWith('Command') ? operation.slice(0, -'Command'.length) : operation;
  const specific = OPERATION_QUOTAS[name];
  if (!specific) return [ACCOUNT_BUCKET];
  if (!specific.perAppInstance) return [ACCOUNT_BUCKET, specific.quota];
  const appInstanceArn = appInstanceArnOf(input);
  return appInstanceArn ? [ACCOUNT_BUCKET, `${specific.quota}:${appInstanceArn}`] : [ACCOUNT_BUCKET];
}

/** The configured rate of a bucket key produced by `bucketKeysFor`. */
export function rateForBucket(limits: QuotaLimits, key: string): number {
  const separator = key.indexOf(':');
  const quota = (separator === -1 ? key : key.slice(0, separator)) as QuotaName;
  const rate = limits[quota];
  if (rate === undefined) throw new RangeError(`unknown quota bucket: ${quota}`);
  return rate;
}
