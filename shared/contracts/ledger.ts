/**
 * What chime-lifecycle knows about one user without asking Chime: the facts ListAppInstanceUsers does not
 * return (creation time, current expiration) and what it last applied. Lets a steady-state sync cost the
 * list pages and nothing more. The sync, onboarding, plan files and the Chime deletion events write it;
 * shared/aws/ledger.ts stores it.
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
