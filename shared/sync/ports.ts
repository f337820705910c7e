import type { LedgerEntry } from '../contracts/ledger';
import type { ReconcileMessage } from '../contracts/reconcile-messages';
import type { PendingShortening, RunRecord } from '../contracts/run';
import type { StoredPolicy } from '../contracts/stored-policy';

/**
 * The ports of the sync use cases: the sync owns these types and the adapters in shared/aws and
 * shared/chime implement them (never the other way round). What the sync shares with other use cases and
 * adapters (run record, ledger entry, stored policy, events, log) is in shared/contracts/.
 */

/** Where the last activity of users is kept, apart from the ledger entries the sync rewrites. */
export interface ActivityPort {
  /** Last activity (epoch ms) of the users that have one. */
  lastActiveMany(tenantId: string, userIds: readonly string[]): Promise<Map<string, number>>;
}

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

/** Where continuation and follow-up runs go: the reconcile queue in Lambda, an in-memory loop in pull mode. */
export interface ReconcileQueuePort {
  send(messages: readonly ReconcileMessage[]): Promise<void>;
}

/**
 * A plan `plan --out` issued: what the state table remembers of it until it expires, so that only a plan
 * this product made can be applied, and only once (shared/aws/issued-plans.ts).
 */
export interface IssuedPlan {
  readonly tenantId: string;
  readonly sha256: string;
  readonly policyVersion: number;
  /** ISO instants, as in the file. */
  readonly generatedAt: string;
  readonly expiresAt: string;
  /** Number of changes. */
  readonly changes: number;
  /** `issued` until an apply consumed it; `applied` once that apply finished (with its outcome). */
  readonly state: 'issued' | 'applying' | 'applied';
  readonly consumedAt?: string | undefined;
  readonly applied?: number | undefined;
  readonly skipped?: number | undefined;
}

export interface IssuedPlanPort {
  /** Records a plan as issued, until its expiry. */
  issue(plan: Omit<IssuedPlan, 'state'>): Promise<void>;
  get(tenantId: string, sha256: string): Promise<IssuedPlan | null>;
  /** Consumes an issued plan (a conditional write): false when it was consumed already, or is not issued. */
  consume(tenantId: string, sha256: string, at: number): Promise<boolean>;
  /** Records how a consumed plan's apply ended. */
  finish(tenantId: string, sha256: string, outcome: { applied: number; skipped: number }): Promise<void>;
}
