import type { SafetySettings } from './schema';

/**
 * The sync's rules about what it knows and when to look again: pure functions of their arguments (no clock,
 * no I/O), so they are table-tested here and the sync only applies them.
 */

/** Chime's default quota of AppInstanceUsers per AppInstance. */
export const MAX_USERS_PER_APP_INSTANCE = 100_000;

/**
 * Shortening changes wait for the end of the scan only when the policy's caps could hold the run; when they
 * cannot (no percentage cap, and a count cap no AppInstance can reach) or an operator approved them, they are
 * written as they are found, like any other change.
 */
export function shorteningCanBeHeld(
  safety: Pick<SafetySettings, 'maxShorteningChanges' | 'maxShorteningPercent'>,
  approved: boolean,
): boolean {
  if (approved) return false;
  return safety.maxShorteningPercent < 100 || safety.maxShorteningChanges < MAX_USERS_PER_APP_INSTANCE;
}

/**
 * Deterministic per-user factor in [0.5, 1) (FNV-1a of the user id), so re-verification of a large tenant
 * does not all fall due at once.
 */
export function verificationSpread(appInstanceUserId: string): number {
  let hash = 2166136261;
  for (let index = 0; index < appInstanceUserId.length; index++) {
    hash = Math.imul(hash ^ appInstanceUserId.charCodeAt(index), 16777619);
  }
  return 0.5 + ((hash >>> 0) % 10_000) / 20_000;
}

/** Whether what the ledger knows of a user is old enough to describe the user again. */
export function dueForVerification(
  entry: { readonly appInstanceUserId: string; readonly verifiedAt: number },
  now: number,
  intervalMs: number,
): boolean {
  return now - entry.verifiedAt >= intervalMs * verificationSpread(entry.appInstanceUserId);
}

/** Whether an unchanged ledger entry must still be rewritten, to record that the user was seen. */
export function sightingStale(
  entry: { readonly lastSeenAt?: number | undefined },
  now: number,
  refreshMs: number,
): boolean {
  return entry.lastSeenAt === undefined || now - entry.lastSeenAt >= refreshMs;
}

/**
 * Whether a ledger entry stands for a user Chime no longer has, at the end of a run that started at
 * `runStartedAt`: every user the run listed was either rewritten by it or last seen less than `refreshMs`
 * before; an entry whose last sighting (or verification, for entries onboarding wrote) is older was not
 * listed, so the user is gone.
 */
export function unseenByRun(
  entry: { readonly lastSeenAt?: number | undefined; readonly verifiedAt: number },
  runStartedAt: number,
  refreshMs: number,
): boolean {
  return Math.max(entry.lastSeenAt ?? 0, entry.verifiedAt) < runStartedAt - refreshMs;
}
