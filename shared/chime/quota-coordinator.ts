/**
 * Shares the Chime quotas between the processes that draw on them now (issue 9).
 *
 * The rate limiter is in-process; deployed, up to 5 reconcile-tenant and 2 onboard-users Lambdas (plus the
 * CLI) call Chime at once against one account quota and the same per-AppInstance quotas. A static split
 * (each process 1/7 of the account) leaves a tenant syncing alone at a seventh of the quota. Instead, each
 * process that has Chime work holds a short lease naming the buckets it draws on, renews it every
 * heartbeat, and reads everybody's leases in the same request. Its rate for a bucket is the bucket's quota
 * divided by the live holders of that bucket (itself included), optionally capped.
 *
 * - A process that dies stops counting when its lease expires (`expiresAtMs`, compared at read time: the
 *   table's TTL deletion is lazy and takes up to days).
 * - A process with no Chime work for `idleMs` releases its lease, so the others get its quota back at
 *   their next heartbeat, and makes no requests at all until it has work again.
 * - If the lease store fails for longer than a lease lives, every bucket falls back to a static share of
 *   its quota (`fallbackShare`), never to "unlimited".
 * - The multi-key acquisition and the adaptive response to 429s stay in the in-process RateLimiter; the
 *   coordinator only moves each bucket's configured rate.
 */
import { randomUUID } from 'node:crypto';
import { isAccountBucket, type QuotaLimits, rateForBucket } from './quotas';
import type { CallRateLimiter, RateLimiter, TimerHandle } from './rate-limiter';

export interface QuotaLease {
  readonly holderId: string;
  /** Bucket keys (`bucketKeysFor`) the holder draws on. */
  readonly buckets: readonly string[];
  /** Wall-clock ms after which the lease no longer counts. */
  readonly expiresAtMs: number;
}

/** Where the leases live (DynamoDB's state table in production: shared/aws/quota-leases.ts). */
export interface QuotaLeaseStore {
  /**
   * Writes `lease` (replacing this holder's previous one), deletes the leases of `forget` (long dead), and
   * returns every lease stored after the write, live or expired, in one request.
   */
  renew(lease: QuotaLease, forget: readonly string[]): Promise<readonly QuotaLease[]>;
  /** Deletes this holder's lease. */
  release(holderId: string): Promise<void>;
}

export interface CoordinatorClock {
  /** Wall-clock ms: lease expiry is compared between processes. */
  now(): number;
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export interface QuotaCoordinatorOptions {
  readonly store: QuotaLeaseStore;
  /** The whole quotas (scaled, not split). */
  readonly limits: QuotaLimits;
  /** Optional cap on this process's share of each account bucket (0..1]; 1 = no cap. */
  readonly accountShareCap?: number;
  /** Share of every quota used while the lease store cannot be read (0..1]. */
  readonly fallbackShare: number;
  /** How long a lease counts after its last renewal. */
  readonly leaseTtlMs?: number;
  /** Renewal (and re-read) period; a third of the TTL by default, so two renewals may fail in a row. */
  readonly heartbeatMs?: number;
  /** No Chime work for this long: release the lease. */
  readonly idleMs?: number;
  /** Longest the first call of an active period waits for the first renewal before using the fallback. */
  readonly joinTimeoutMs?: number;
  /** Leases expired for longer than this are deleted by whoever renews next (table hygiene only). */
  readonly forgetAfterMs?: number;
  readonly holderId?: string;
  readonly clock?: Partial<CoordinatorClock>;
  /** Called when the store fails (the error carries no user data). */
  readonly onError?: (error: unknown) => void;
}

export interface QuotaCoordinatorStats {
  readonly holderId: string;
  /** Requests made to the lease store (renewals and releases). */
  readonly storeRequests: number;
  readonly storeFailures: number;
  /** True while the fallback share is in force. */
  readonly degraded: boolean;
  readonly holding: boolean;
  /** Live holders per bucket this process draws on, itself included, from the last read. */
  readonly holders: Readonly<Record<string, number>>;
}

/** Live holders of `key` in `leases`, always counting `self` (it is about to draw on the bucket). */
export function liveHolders(leases: readonly QuotaLease[], key: string, self: string, now: number): number {
  let count = 1;
  for (const lease of leases) {
    if (lease.holderId !== self && lease.expiresAtMs > now && lease.buckets.includes(key)) count += 1;
  }
  return count;
}

/** This process's rate for `key`: the quota divided among its live holders, then the optional cap. */
export function sharedRate(limits: QuotaLimits, key: string, holders: number, accountShareCap = 1): number {
  const quota = rateForBucket(limits, key);
  const share = quota / Math.max(1, holders);
  return isAccountBucket(key) ? Math.min(share, quota * accountShareCap) : share;
}

/** The safe static rate used while the lease store is unavailable. */
export function fallbackRate(limits: QuotaLimits, key: string, fallbackShare: number, accountShareCap = 1) {
  const quota = rateForBucket(limits, key);
  const share = quota * fallbackShare;
  return isAccountBucket(key) ? Math.min(share, quota * accountShareCap) : share;
}

const defaultClock = (): CoordinatorClock => ({
  now: () => Date.now(),
  setTimer: (callback, delayMs) => {
    const timer = setTimeout(callback, delayMs);
    // The heartbeat alone must not keep a finished CLI alive; pending Chime calls do that.
    timer.unref?.();
    return timer;
  },
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
});

function checkShare(name: string, value: number): void {
  if (!(value > 0 && value <= 1)) throw new RangeError(`${name} must be in (0, 1], got ${value}`);
}

export class QuotaCoordinator {
  readonly holderId: string;
  private readonly store: QuotaLeaseStore;
  private readonly limits: QuotaLimits;
  private readonly accountShareCap: number;
  private readonly fallbackShare: number;
  private readonly leaseTtlMs: number;
  private readonly heartbeatMs: number;
  private readonly idleMs: number;
  private readonly joinTimeoutMs: number;
  private readonly forgetAfterMs: number;
  private readonly clock: CoordinatorClock;
  private readonly onError: (error: unknown) => void;
  /** Buckets of this process's lease, with when each was last used. */
  private readonly used = new Map<string, number>();
  private leases: readonly QuotaLease[] = [];
  private lastRenewedAt = Number.NEGATIVE_INFINITY;
  private lastAttemptAt = Number.NEGATIVE_INFINITY;
  private renewing: Promise<void> | undefined;
  /** A bucket was added while a renewal was in flight: renew again right after it. */
  private dirty = false;
  private holding = false;
  private timer: TimerHandle | undefined;
  private limiter: RateLimiter | undefined;
  private storeRequests = 0;
  private storeFailures = 0;
  private degraded = false;

  constructor(options: QuotaCoordinatorOptions) {
    this.store = options.store;
    this.limits = options.limits;
    this.accountShareCap = options.accountShareCap ?? 1;
    this.fallbackShare = options.fallbackShare;
    checkShare('accountShareCap', this.accountShareCap);
    checkShare('fallbackShare', this.fallbackShare);
    this.leaseTtlMs = options.leaseTtlMs ?? 6_000;
    this.heartbeatMs = options.heartbeatMs ?? this.leaseTtlMs / 3;
    this.idleMs = options.idleMs ?? this.heartbeatMs * 1.5;
    this.joinTimeoutMs = options.joinTimeoutMs ?? 2_000;
    this.forgetAfterMs = options.forgetAfterMs ?? 60_000;
    if (!(this.heartbeatMs > 0 && this.heartbeatMs < this.leaseTtlMs)) {
      throw new RangeError('heartbeatMs must be > 0 and shorter than leaseTtlMs');
    }
    this.holderId = options.holderId ?? randomUUID();
    this.clock = { ...defaultClock(), ...options.clock };
    this.onError = options.onError ?? (() => {});
  }

  /** The limiter whose configured rates this coordinator moves. */
  attach(limiter: RateLimiter): void {
    this.limiter = limiter;
  }

  /** The configured rate of a bucket the limiter meets for the first time. */
  rateFor(key: string): number {
    return this.rateNow(key, this.clock.now());
  }

  /**
   * Notes that a call is about to draw on `keys`. Returns a promise only when the caller should wait: the
   * first call of an active period (or after a stale view) waits for one renewal, bounded by joinTimeoutMs,
   * so that it starts at the right share instead of the whole quota.
   */
  touch(keys: readonly string[]): Promise<void> | undefined {
    const now = this.clock.now();
    let added = false;
    for (const key of keys) {
      if (!this.used.has(key)) added = true;
      this.used.set(key, now);
    }
    // Stale (a Lambda thawed after its lease expired): wait too, unless a renewal is in flight or was tried
    // within the last heartbeat, i.e. the store is failing or hanging: then the fallback share applies and
    // calls must not queue on it.
    const stale =
      now - this.lastRenewedAt >= this.leaseTtlMs &&
      now - this.lastAttemptAt >= this.heartbeatMs &&
      this.renewing === undefined;
    if (!this.holding || stale) {
      this.holding = true;
      this.scheduleHeartbeat();
      return this.withTimeout(this.renew());
    }
    if (added) void this.renew();
    return undefined;
  }

  /** Releases the lease now (end of work, shutdown). */
  async release(): Promise<void> {
    this.stopTimer();
    if (!this.holding) return;
    this.holding = false;
    this.used.clear();
    await this.renewing;
    this.storeRequests += 1;
    try {
      await this.store.release(this.holderId);
    } catch (error) {
      // The lease expires on its own within the TTL.
      this.storeFailures += 1;
      this.onError(error);
    }
  }

  /** Stops the heartbeat without a request (the lease expires within the TTL). */
  stop(): void {
    this.stopTimer();
    this.holding = false;
  }

  stats(): QuotaCoordinatorStats {
    const now = this.clock.now();
    return {
      holderId: this.holderId,
      storeRequests: this.storeRequests,
      storeFailures: this.storeFailures,
      degraded: this.degraded,
      holding: this.holding,
      holders: Object.fromEntries(
        [...this.used.keys()].map((key) => [key, liveHolders(this.leases, key, this.holderId, now)]),
      ),
    };
  }

  private rateNow(key: string, now: number): number {
    if (this.degraded || now - this.lastRenewedAt >= this.leaseTtlMs) {
      return fallbackRate(this.limits, key, this.fallbackShare, this.accountShareCap);
    }
    return sharedRate(
      this.limits,
      key,
      liveHolders(this.leases, key, this.holderId, now),
      this.accountShareCap,
    );
  }

  private async withTimeout(work: Promise<void>): Promise<void> {
    let handle: TimerHandle | undefined;
    const timeout = new Promise<void>((resolve) => {
      handle = this.clock.setTimer(resolve, this.joinTimeoutMs);
    });
    try {
      await Promise.race([work, timeout]);
    } finally {
      this.clock.clearTimer(handle);
    }
  }

  /** One renewal at a time; a bucket added meanwhile triggers one more right after. */
  private renew(): Promise<void> {
    if (this.renewing) {
      this.dirty = true;
      return this.renewing;
    }
    this.renewing = this.renewOnce().finally(() => {
      this.renewing = undefined;
      if (this.dirty && this.holding) {
        this.dirty = false;
        void this.renew();
      }
    });
    return this.renewing;
  }

  private async renewOnce(): Promise<void> {
    const now = this.clock.now();
    this.lastAttemptAt = now;
    const lease: QuotaLease = {
      holderId: this.holderId,
      buckets: [...this.used.keys()],
      expiresAtMs: now + this.leaseTtlMs,
    };
    const forget = this.leases
      .filter((other) => other.holderId !== this.holderId && other.expiresAtMs < now - this.forgetAfterMs)
      .map((other) => other.holderId);
    this.storeRequests += 1;
    try {
      this.leases = await this.store.renew(lease, forget);
      this.lastRenewedAt = now;
      this.degraded = false;
    } catch (error) {
      this.storeFailures += 1;
      this.onError(error);
      // Our view of the others is still usable until our own lease would have expired.
      if (this.clock.now() - this.lastRenewedAt >= this.leaseTtlMs) this.degraded = true;
    }
    this.apply();
  }

  /** Moves the limiter's configured rates to the current shares. */
  private apply(): void {
    if (!this.limiter) return;
    const now = this.clock.now();
    for (const key of this.limiter.configuredRates().keys()) {
      this.limiter.setConfiguredRate(key, this.rateNow(key, now));
    }
  }

  private scheduleHeartbeat(): void {
    if (this.timer !== undefined) return;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      void this.heartbeat();
    }, this.heartbeatMs);
  }

  private async heartbeat(): Promise<void> {
    if (!this.holding) return;
    const now = this.clock.now();
    for (const [key, usedAt] of this.used) if (now - usedAt >= this.idleMs) this.used.delete(key);
    if (this.used.size === 0) {
      await this.release();
      return;
    }
    this.scheduleHeartbeat();
    await this.renew();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimer(this.timer);
      this.timer = undefined;
    }
  }
}

/** The limiter the Chime client uses: the coordinator learns of each call before the RateLimiter paces it. */
export class CoordinatedRateLimiter implements CallRateLimiter {
  constructor(
    readonly limiter: RateLimiter,
    readonly coordinator: QuotaCoordinator,
  ) {
    coordinator.attach(limiter);
  }

  async acquire(keys: readonly string[], signal?: AbortSignal): Promise<void> {
    const joining = this.coordinator.touch(keys);
    if (joining) await joining;
    return this.limiter.acquire(keys, signal);
  }

  onThrottled(keys: readonly string[]): void {
    this.limiter.onThrottled(keys);
  }

  onSuccess(keys: readonly string[]): void {
    this.limiter.onSuccess(keys);
  }
}
