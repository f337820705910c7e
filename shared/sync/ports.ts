import type { LifecycleEvent } from '../aws/events';
import type { LedgerEntry } from '../aws/ledger';
import type { StoredPolicy } from '../aws/policy-store';
import type { PendingShortening, RunRecord } from '../aws/runs';
import type { ReconcileMessage } from './messages';

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

/** The Chime side, as the sync needs it; implemented by shared/chime's ChimeUsers (rate-limited). */
export interface UserDirectory {
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
