/**
 * API rate quotas as token buckets on real monotonic time (performance.now), independent of the
 * controllable emulator clock. Capacity is one second of rate; tokens refill continuously.
 */
import { performance } from 'node:perf_hooks';

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly ratePerSecond: number,
    readonly capacity: number = ratePerSecond,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = capacity;
    this.updatedAt = now();
  }

  private refill(): void {
    const now = this.now();
    const elapsedSeconds = (now - this.updatedAt) / 1000;
    if (elapsedSeconds > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + elapsedSeconds * this.ratePerSecond);
      this.updatedAt = now;
    }
  }

  /** Whether one token is available, without taking it. */
  canTake(): boolean {
    this.refill();
    return this.tokens >= 1;
  }

  take(): void {
    this.tokens -= 1;
  }

  available(): number {
    this.refill();
    return this.tokens;
  }
}

/** AWS default rates (requests per second) from the "Amazon Chime SDK Identity quotas" page. */
export const DEFAULT_RATES = {
  /** Create/Update/DeleteAppInstanceUser (+ PutAppInstanceUserExpirationSettings), per AppInstance. */
  appInstanceUserWrite: 10,
  /** DescribeAppInstanceUser, per AppInstance. */
  describeAppInstanceUser: 20,
  /** ListAppInstanceUsers, per AppInstance. */
  listAppInstanceUsers: 10,
  /** Create/Update/DeleteAppInstance, per account (CreateAppInstance has no AppInstance yet). */
  appInstanceWrite: 5,
  /** DescribeAppInstance, per AppInstance. */
  describeAppInstance: 20,
  /** ListAppInstances, per account. */
  listAppInstances: 10,
  /** All Chime SDK Identity operations together, per account. */
  accountTotal: 50,
} as const;

export type RateName = keyof typeof DEFAULT_RATES;

/** Which rate (besides the account total) each operation is charged to, and whether it is per AppInstance. */
export const OPERATION_RATES: Readonly<Record<string, { rate: RateName; perAppInstance: boolean }>> = {
  CreateAppInstanceUser: { rate: 'appInstanceUserWrite', perAppInstance: true },
  UpdateAppInstanceUser: { rate: 'appInstanceUserWrite', perAppInstance: true },
  DeleteAppInstanceUser: { rate: 'appInstanceUserWrite', perAppInstance: true },
  PutAppInstanceUserExpirationSettings: { rate: 'appInstanceUserWrite', perAppInstance: true },
  DescribeAppInstanceUser: { rate: 'describeAppInstanceUser', perAppInstance: true },
  ListAppInstanceUsers: { rate: 'listAppInstanceUsers', perAppInstance: true },
  CreateAppInstance: { rate: 'appInstanceWrite', perAppInstance: false },
  UpdateAppInstance: { rate: 'appInstanceWrite', perAppInstance: false },
  DeleteAppInstance: { rate: 'appInstanceWrite', perAppInstance: false },
  DescribeAppInstance: { rate: 'describeAppInstance', perAppInstance: true },
  ListAppInstances: { rate: 'listAppInstances', perAppInstance: false },
};

export class QuotaManager {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly scale: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  private bucket(key: string, rate: RateName): TokenBucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      const perSecond = DEFAULT_RATES[rate] * this.scale;
      bucket = new TokenBucket(perSecond, Math.max(1, perSecond), this.clock);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  /**
   * Charges one call; returns the name of the exhausted quota, or undefined when admitted.
   * All buckets are checked before any is charged, so a throttled call costs nothing anywhere. `where`
   * names the caller's account and Region: AWS counts the account-wide quotas per account and Region.
   */
  admit(operation: string, appInstanceArn: string | undefined, where = 'account'): string | undefined {
    const account = this.bucket(where, 'accountTotal');
    const specific = OPERATION_RATES[operation];
    let operationBucket: TokenBucket | undefined;
    if (specific) {
      const scope = specific.perAppInstance ? (appInstanceArn ?? '-') : where;
      operationBucket = this.bucket(`${specific.rate} ${scope}`, specific.rate);
      if (!operationBucket.canTake()) {
        return `${specific.rate} (${operationBucket.ratePerSecond} rps${specific.perAppInstance ? ' per AppInstance' : ''})`;
      }
    }
    if (!account.canTake()) return `accountTotal (${account.ratePerSecond} rps per account)`;
    operationBucket?.take();
    account.take();
    return undefined;
  }

  reset(): void {
    this.buckets.clear();
  }
}
