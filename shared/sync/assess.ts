import type { RunCounters } from '../contracts/run';
import { type CompiledPolicy, type Decision, decide, resolveExpiration } from '../policy';
import type { ListedUser } from './ports';

/** What Chime (or the ledger, standing in for it) says of a user's expiration. */
export interface CurrentState {
  readonly createdAt: number;
  readonly expirationDays: number | undefined;
  /** Last recorded activity (epoch ms), for expirations that renew by activity. */
  readonly lastActiveAt?: number | undefined;
}

export type Assessment =
  | { readonly kind: 'unmanaged' }
  /** An AppInstanceAdmin the policy protects: never described, never written. */
  | { readonly kind: 'protected' }
  | { readonly kind: 'gone' }
  | {
      readonly kind: 'decided';
      readonly current: CurrentState;
      readonly decision: Decision;
      /** The ExpirationDays the decision wants (null: none). */
      readonly desiredDays: number | null;
    };

/**
 * The one per-user scan step of `plan` and `reconcile`: resolves the user against the policy, reads its
 * current state (Describe, or the ledger) only when it is managed, decides, and counts what it found in the
 * run's counters. Both use cases count with this and `countChange`, so a plan's summary and a run's counters
 * mean the same thing.
 */
export async function assessUser(
  user: ListedUser,
  compiled: CompiledPolicy,
  now: number,
  counters: RunCounters,
  current: () => Promise<CurrentState | null>,
  /** The AppInstance's admins as listed for this run (ListAppInstanceAdmins). */
  admins?: ReadonlySet<string>,
): Promise<Assessment> {
  counters.scanned++;
  const context = { now, admins };
  const resolved = resolveExpiration(compiled, user, context);
  if (resolved.source === 'admin') {
    counters.protected++;
    return { kind: 'protected' };
  }
  if (resolved.expiration === 'unmanaged') {
    counters.unmanaged++;
    return { kind: 'unmanaged' };
  }
  const state = await current();
  if (!state) {
    // Listed a moment ago, gone now: Chime's expiry sweeper or someone else deleted it.
    counters.gone++;
    return { kind: 'gone' };
  }
  const decision = decide(compiled, user, state, now, { admins });
  if (decision.floored) counters.floored++;
  if (!decision.changes) counters.unchanged++;
  const desiredDays = decision.desired.kind === 'set' ? decision.desired.days : null;
  return { kind: 'decided', current: state, decision, desiredDays };
}

/**
 * Counts a change: `applied` (written, or what a plan would write), `held` (waits for the caps) or
 * `released` (a held change written at the end of the scan; its shortening was counted when it was held).
 */
export function countChange(
  counters: RunCounters,
  change: { readonly shortens: boolean; readonly rescue: boolean; readonly desiredDays: number | null },
  outcome: 'applied' | 'held' | 'released',
): void {
  if (change.shortens && outcome !== 'released') counters.shortening++;
  if (outcome === 'held') return;
  if (change.desiredDays === null) counters.removed++;
  else counters.set++;
  if (change.shortens) counters.shorteningApplied++;
  if (change.rescue) counters.rescued++;
}
