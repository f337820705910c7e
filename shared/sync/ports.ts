import type { Policy } from '../policy';
import type { LifecycleEvent } from './events';
import type { ReconcileMessage } from './messages';

/**
 * The ports of the sync use cases: the sync owns these types and the adapters in shared/aws and
 * shared/chime implement them (never the other way round).
 */

/** One stored version of a tenant's policy, as the use cases read it (shared/aws/policy-store.ts). */
export interface StoredPolicy {
  readonly tenantId: string;
  readonly version: number;
  readonly updatedAt: string;
  /** The document as written by the operator (defaults not filled in). */
  readonly document: Record<string, unknown>;
  /** The validated policy with defaults applied. */
  readonly policy: Policy;
}

export type RunState = 'running' | 'completed' | 'held' | 'failed';

export interface RunCounters {
  scanned: number;
  pages: number;
  described: number;
  unchanged: number;
  set: number;
  removed: number;
  shortening: number;
  shorteningApplied: number;
  held: number;
  rescued: number;
  unmanaged: number;
  floored: number;
  gone: number;
  chimeCalls: number;
  /** Users left untouched because they are AppInstanceAdmins (policy `protectAdmins`, on by default). */
  protected: number;
}

export const emptyCounters = (): RunCounters => ({
  scanned: 0,
  pages: 0,
  described: 0,
  unchanged: 0,
  set: 0,
  removed: 0,
  shortening: 0,
  shorteningApplied: 0,
  held: 0,
  rescued: 0,
  unmanaged: 0,
  floored: 0,
  gone: 0,
  chimeCalls: 0,
  protected: 0,
});

export interface RunRecord {
  readonly tenantId: string;
  readonly runId: string;
  readonly state: RunState;
  readonly trigger: string;
  readonly policyVersion: number;
  /** Incremented by every invocation that makes progress; a redelivered continuation finds it moved on. */
  readonly step: number;
  /** `scan` pages through the users; `apply` writes the shortening changes the safety caps allowed. */
  readonly phase: 'scan' | 'apply';
  readonly approveShortening: boolean;
  /** The ListAppInstanceUsers NextToken to resume from; absent before the first page and after the last. */
  readonly cursor?: string | undefined;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string | undefined;
  readonly counters: RunCounters;
  readonly reason?: string | undefined;
}

/** A shortening change found by a run and applied only when the run's safety caps allow it. */
export interface PendingShortening {
  readonly appInstanceUserId: string;
  readonly userArn: string;
  readonly runId: string;
  /** null removes the expiration (never shortening in practice, kept for completeness). */
  readonly desiredDays: number | null;
  readonly ruleId: string | null;
}

/**
 * What chime-lifecycle knows about one user without asking Chime: the facts ListAppInstanceUsers does not
 * return (creation time, current expiration) and what it last applied. Lets a steady-state sync cost the
 * list pages and nothing more.
 */
export interface LedgerEntry {
  readonly appInstanceUserId: string;
  /** Epoch ms; from DescribeAppInstanceUser, never changes for a user. */
  readonly createdAt: number;
  /** The user's ExpirationDays as last read or written; null when it has none. */
  readonly expirationDays: number | null;
  /** Epoch ms of the last DescribeAppInstanceUser that confirmed this entry. */
  readonly verifiedAt: number;
  readonly appliedPolicyVersion?: number | undefined;
  readonly appliedRuleId?: string | undefined;
  readonly lastSeenRunId?: string | undefined;
  /** Epoch ms of the last run that listed the user and wrote this entry (see ReconcileSettings.seenRefreshMs). */
  readonly lastSeenAt?: number | undefined;
  /** Epoch ms when a run found the user missing from Chime (or Chime's own deletion event arrived). */
  readonly goneAt?: number | undefined;
  /** Why the user is gone, when Chime said so (CloudTrail): `expired` or `deleted`. */
  readonly goneReason?: 'expired' | 'deleted' | undefined;
  /** The expiry instant (epoch ms) the horizons in `warnedHorizons` were announced for (shared/sync/warnings.ts). */
  readonly warnedExpiresAt?: number | undefined;
  /** Warning horizons (days) already announced for `warnedExpiresAt`. */
  readonly warnedHorizons?: readonly number[] | undefined;
}

/** One activity of a user: it moves the user's `lastActiveAt` forward (renewal of `inactiveDays` users). */
export interface ActivityEvent {
  readonly tenantId: string;
  readonly appInstanceUserId: string;
  /** Epoch ms of the activity. */
  readonly at: number;
}

/** Where the last activity of users is kept, apart from the ledger entries the sync rewrites. */
export interface ActivityPort {
  /** Last activity (epoch ms) of the users that have one. */
  lastActiveMany(tenantId: string, userIds: readonly string[]): Promise<Map<string, number>>;
}

export type { LifecycleEvent };

/** A user as ListAppInstanceUsers returns it; Name is deliberately not carried (it is sensitive and unused). */
export interface ListedUser {
  readonly arn: string;
  readonly appInstanceUserId: string;
  readonly metadata?: string | undefined;
}

export interface UserPage {
  readonly users: readonly ListedUser[];
  readonly nextToken: string | undefined;
}

export interface DescribedUser {
  readonly createdAt: number;
  readonly expirationDays: number | undefined;
}

/** The AppInstance's admins (ListAppInstanceAdmins, every page), as AppInstanceUserIds. */
export interface AdminDirectory {
  listAdmins(appInstanceArn: string): Promise<ReadonlySet<string>>;
}

/** The Chime side, as the sync needs it; implemented by shared/chime's ChimeUsers (rate-limited). */
export interface UserDirectory extends AdminDirectory {
  listPages(appInstanceArn: string, options: { startToken?: string }): AsyncIterable<UserPage>;
  /** null when the user no longer exists. */
  describe(userArn: string): Promise<DescribedUser | null>;
  /** null removes the user's ExpirationSettings. */
  putExpiration(userArn: string, days: number | null): Promise<void>;
}

export interface PolicySource {
  get(tenantId: string): Promise<StoredPolicy | null>;
}

export interface LedgerPort {
  getMany(tenantId: string, userIds: readonly string[]): Promise<Map<string, LedgerEntry>>;
  putMany(tenantId: string, entries: readonly LedgerEntry[]): Promise<void>;
  unseenBefore(tenantId: string, cutoff: number): AsyncIterable<LedgerEntry>;
  markGone(tenantId: string, appInstanceUserId: string, at: number): Promise<void>;
  /** Every entry of the tenant (the warning digest and `expiring` read them; no Chime call). */
  all(tenantId: string): AsyncIterable<LedgerEntry>;
}

export interface RunPort {
  acquireLease(
    tenantId: string,
    runId: string,
    now: number,
    leaseMs: number,
  ): Promise<{ acquired: boolean; holder?: string }>;
  releaseLease(tenantId: string, runId: string): Promise<void>;
  create(record: RunRecord): Promise<void>;
  get(tenantId: string, runId: string): Promise<RunRecord | null>;
  save(record: RunRecord, expectedStep: number): Promise<boolean>;
  addPending(tenantId: string, pending: readonly PendingShortening[]): Promise<void>;
  pending(tenantId: string): AsyncIterable<PendingShortening>;
  removePending(tenantId: string, appInstanceUserIds: readonly string[]): Promise<void>;
}

/** Records that a notice went out, so it goes out once (implemented in shared/aws/notices.ts). */
export interface NoticePort {
  /** True when this call recorded the notice first (publish it); false when it was already recorded. */
  claim(tenantId: string, key: string, at: number, keepUntil: number): Promise<boolean>;
}

export interface EventSink {
  publish(events: readonly LifecycleEvent[]): Promise<void>;
}

/** Where continuation and follow-up runs go: the reconcile queue in Lambda, an in-memory loop in pull mode. */
export interface ReconcileQueuePort {
  send(messages: readonly ReconcileMessage[]): Promise<void>;
}

export interface Log {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}
