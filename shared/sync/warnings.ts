import type { LedgerEntry } from '../contracts/ledger';
import type { EventSink, LifecycleEvent } from '../contracts/lifecycle-events';
import {
  type CompiledPolicy,
  DAY_MS,
  tightestHorizon,
  type WarningsSent,
  warningsDue,
  withinHorizon,
} from '../policy';
import type { LedgerPort } from './ports';

/** The digest names at most this many users; the counts cover all of them. */
export const DIGEST_MAX_USER_IDS = 100;

/** What the ledger says the warnings of an entry were. */
export function warningsSentOf(entry: LedgerEntry | undefined): WarningsSent | undefined {
  return entry?.warnedExpiresAt === undefined
    ? undefined
    : { expiresAt: entry.warnedExpiresAt, horizons: entry.warnedHorizons ?? [] };
}

/** The expiry instant a ledger entry stands for, or null when the user has no expiration. */
export function ledgerExpiresAt(entry: Pick<LedgerEntry, 'createdAt' | 'expirationDays'>): number | null {
  return entry.expirationDays === null ? null : entry.createdAt + entry.expirationDays * DAY_MS;
}

/**
 * The warnings one user is due during a sync, from what the ledger knows (no Chime call): the events to
 * publish and the ledger fields that remember them. `expirationDays` is the user's ExpirationDays once this
 * sync's write (if any) is applied.
 */
export function userWarnings(
  tenantId: string,
  user: {
    readonly appInstanceUserId: string;
    readonly createdAt: number;
    readonly expirationDays: number | null;
  },
  previous: LedgerEntry | undefined,
  compiled: CompiledPolicy,
  ruleId: string | null,
  now: number,
): {
  readonly events: LifecycleEvent[];
  readonly fields: Pick<LedgerEntry, 'warnedExpiresAt' | 'warnedHorizons'>;
} {
  const expiresAt = ledgerExpiresAt(user);
  const step = warningsDue(expiresAt, now, compiled.horizons, warningsSentOf(previous));
  const fields = {
    warnedExpiresAt: step.sent?.expiresAt,
    warnedHorizons: step.sent === null ? undefined : [...step.sent.horizons],
  };
  if (expiresAt === null || step.due.length === 0) return { events: [], fields };
  const iso = new Date(expiresAt).toISOString();
  return {
    events: step.due.map(
      (horizonDays): LifecycleEvent => ({
        type: 'User Expiring Soon',
        detail: { tenantId, appInstanceUserId: user.appInstanceUserId, expiresAt: iso, horizonDays, ruleId },
      }),
    ),
    fields,
  };
}

export interface ExpiringUser {
  readonly appInstanceUserId: string;
  readonly expiresAt: number;
  /** The smallest horizon the expiry is within (null when the listing's window is wider than every horizon). */
  readonly horizonDays: number | null;
  readonly ruleId: string | null;
  /** Horizons already announced for this expiry instant. */
  readonly warned: readonly number[];
}

/**
 * The users of a ledger whose expiry is within `withinMs` of `now` (and not past), soonest first: what
 * `chime-lifecycle expiring` lists and what the digest counts. Users marked gone are left out.
 */
export async function expiringFromLedger(
  entries: AsyncIterable<LedgerEntry> | Iterable<LedgerEntry>,
  now: number,
  withinMs: number,
  horizons: readonly number[],
): Promise<ExpiringUser[]> {
  const found: ExpiringUser[] = [];
  for await (const entry of entries) {
    if (entry.goneAt !== undefined) continue;
    const expiresAt = ledgerExpiresAt(entry);
    if (expiresAt === null || expiresAt <= now || expiresAt - now > withinMs) continue;
    const sent = warningsSentOf(entry);
    found.push({
      appInstanceUserId: entry.appInstanceUserId,
      expiresAt,
      horizonDays: tightestHorizon(expiresAt, now, horizons),
      ruleId: entry.appliedRuleId ?? null,
      warned: sent && sent.expiresAt === expiresAt ? sent.horizons : [],
    });
  }
  return found.sort(
    (a, b) => a.expiresAt - b.expiresAt || (a.appInstanceUserId < b.appInstanceUserId ? -1 : 1),
  );
}

/** The run's "Tenant Expiry Digest": users within each horizon, and the first 100 within the widest one. */
export function expiryDigest(
  tenantId: string,
  runId: string,
  expiring: readonly ExpiringUser[],
  horizons: readonly number[],
  now: number,
): LifecycleEvent {
  const widest = expiring.filter((user) => user.horizonDays !== null);
  return {
    type: 'Tenant Expiry Digest',
    detail: {
      tenantId,
      runId,
      at: new Date(now).toISOString(),
      horizons: horizons.map((days) => ({
        days,
        users: widest.filter((user) => withinHorizon(user.expiresAt, now, days)).length,
      })),
      userIds: widest.slice(0, DIGEST_MAX_USER_IDS).map((user) => user.appInstanceUserId),
      truncated: widest.length > DIGEST_MAX_USER_IDS,
    },
  };
}

/**
 * Publishes the run's digest when the policy notifies, from the ledger the scan just brought up to date.
 * Once per run: it is called at the end of the scan, which a run reaches once (the step guard).
 */
export async function publishDigest(
  record: { readonly tenantId: string; readonly runId: string },
  horizons: readonly number[],
  deps: { readonly ledger: LedgerPort; readonly events: EventSink; readonly now: () => number },
): Promise<void> {
  const widest = horizons[0];
  if (widest === undefined) return;
  const now = deps.now();
  const expiring = await expiringFromLedger(deps.ledger.all(record.tenantId), now, widest * DAY_MS, horizons);
  await deps.events.publish([expiryDigest(record.tenantId, record.runId, expiring, horizons, now)]);
}

/** Whether some expiration of the policy decides by activity (its kind declares it): only then is activity read. */
export function usesInactiveDays(compiled: CompiledPolicy): boolean {
  return compiled.needsActivity;
}
