import type { EventSink } from '../contracts/lifecycle-events';
import type { Log } from '../contracts/log';
import { DAY_MS } from '../policy';
import type {
  ActivityPort,
  LedgerPort,
  NoticePort,
  PolicySource,
  ReconcileQueuePort,
  RunPort,
  UserDirectory,
} from './ports';

export interface ReconcileSettings {
  /** How long a ledger entry is trusted before the user is described again; spread per user over [½, 1]×. */
  readonly verifyIntervalMs: number;
  /** A run's lease; renewed by every invocation, so it only has to outlive one invocation. */
  readonly leaseMs: number;
  readonly describeConcurrency: number;
  readonly writeConcurrency: number;
  /**
   * A ledger entry that did not change is rewritten (to record that the user was seen) only when its last
   * sighting is older than this, so a steady-state sync writes next to nothing to DynamoDB. Users Chime no
   * longer has are marked gone once their last sighting is older than this (0: every run, at once).
   */
  readonly seenRefreshMs: number;
  /** Checkpoint and continue when less than this much invocation time is left. */
  readonly safetyMarginMs: number;
  /** Checkpoint after this many pages even with time left (tests, and to bound one invocation's work). */
  readonly maxPagesPerInvocation: number;
}

export const DEFAULT_RECONCILE_SETTINGS: ReconcileSettings = {
  verifyIntervalMs: 30 * DAY_MS,
  seenRefreshMs: DAY_MS,
  leaseMs: 20 * 60_000,
  describeConcurrency: 16,
  writeConcurrency: 8,
  safetyMarginMs: 60_000,
  maxPagesPerInvocation: Number.POSITIVE_INFINITY,
};

export interface ReconcileDeps {
  readonly policies: PolicySource;
  readonly users: UserDirectory;
  readonly ledger: LedgerPort;
  /** Last activity of users, read only for policies whose expiration kinds need it (`needsActivity`). */
  readonly activity?: ActivityPort | undefined;
  readonly runs: RunPort;
  readonly events: EventSink;
  readonly queue: ReconcileQueuePort;
  readonly log: Log;
  readonly now: () => number;
  /** Time left in this invocation (Lambda's getRemainingTimeInMillis; Infinity in pull mode). */
  readonly remainingTimeMs: () => number;
  readonly settings: ReconcileSettings;
  /** Where "send once" notices are recorded ("Exemption Ending"); absent: none are sent. */
  readonly notices?: NoticePort;
}

export function outOfTime(deps: ReconcileDeps, pagesThisInvocation: number): boolean {
  return (
    pagesThisInvocation >= deps.settings.maxPagesPerInvocation ||
    deps.remainingTimeMs() < deps.settings.safetyMarginMs
  );
}
