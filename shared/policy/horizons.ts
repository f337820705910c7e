/**
 * Warning horizons: pure arithmetic over epoch milliseconds (no clock, no I/O). A horizon of `h` days is
 * `h × 86 400 000 ms` before the expiry instant. Days are UTC days of fixed length, so a daylight-saving
 * change in any time zone never makes a warning early or late, and the same instants give the same answer
 * wherever the code runs.
 */

const DAY = 86_400_000;

export const MIN_HORIZON_DAYS = 1;
export const MAX_HORIZON_DAYS = 365;
export const MAX_HORIZONS = 5;

/** What the ledger remembers of the warnings a user was sent: for which expiry instant, which horizons. */
export interface WarningsSent {
  /** The expiry instant (epoch ms) the horizons below were sent for. */
  readonly expiresAt: number;
  /** Horizons (days) already announced for that instant. */
  readonly horizons: readonly number[];
}

export interface WarningStep {
  /** Horizons to announce now, largest first (the order a reader expects: 30, then 7, then 1). */
  readonly due: readonly number[];
  /** What the ledger should remember after announcing them; null when there is nothing to remember. */
  readonly sent: WarningsSent | null;
  /** Whether `sent` differs from what the ledger had (the entry must be written). */
  readonly changed: boolean;
}

/** The horizons, deduplicated and sorted largest first. */
export function normalizeHorizons(horizons: readonly number[]): number[] {
  return [...new Set(horizons)].sort((a, b) => b - a);
}

/** The smallest horizon in days, or 0 when there is none (no notify: no floor of its own). */
export function smallestHorizon(horizons: readonly number[]): number {
  return horizons.length === 0 ? 0 : Math.min(...horizons);
}

/** Whether an expiry instant is within `days` of `now` and not yet past. */
export function withinHorizon(expiresAt: number, now: number, days: number): boolean {
  return expiresAt > now && expiresAt - now <= days * DAY;
}

/**
 * Which warnings a user is due at `now`. A warning for horizon `h` is due once the expiry is `h` days away
 * or closer (and not past), and only once per expiry instant: `previous` records what was sent, and an
 * expiry instant that moved (renewal, a new policy) re-arms every horizon. When a sync runs rarely, several
 * horizons may have been crossed since the last one: each is announced, once. A user with no expiry
 * (`expiresAt` null) is due nothing, and what the ledger kept about it is dropped.
 */
export function warningsDue(
  expiresAt: number | null,
  now: number,
  horizons: readonly number[],
  previous: WarningsSent | undefined,
): WarningStep {
  if (expiresAt === null || horizons.length === 0) {
    return { due: [], sent: null, changed: previous !== undefined };
  }
  const already = previous !== undefined && previous.expiresAt === expiresAt ? previous.horizons : [];
  const due = normalizeHorizons(horizons).filter(
    (days) => withinHorizon(expiresAt, now, days) && !already.includes(days),
  );
  const rearmed = previous !== undefined && previous.expiresAt !== expiresAt;
  if (due.length === 0) {
    // A moved expiry with nothing due yet: forget the old horizons so they can be sent for the new instant.
    return rearmed ? { due, sent: null, changed: true } : { due, sent: previous ?? null, changed: false };
  }
  return {
    due,
    sent: { expiresAt, horizons: normalizeHorizons([...already, ...due]) },
    changed: true,
  };
}

/** The smallest horizon (days) an expiry instant is within, or null when it is within none. */
export function tightestHorizon(expiresAt: number, now: number, horizons: readonly number[]): number | null {
  let tightest: number | null = null;
  for (const days of horizons) {
    if (withinHorizon(expiresAt, now, days) && (tightest === null || days < tightest)) tightest = days;
  }
  return tightest;
}

/** Parses `7d`, `36h` or `90m` (also a bare number of days) into milliseconds; null when it is not one. */
export function parseWithin(text: string): number | null {
  const match = /^(\d{1,5})([dhm]?)$/.exec(text.trim());
  if (!match) return null;
  const amount = Number(match[1]);
  const unit = match[2] === 'h' ? 3_600_000 : match[2] === 'm' ? 60_000 : DAY;
  return amount > 0 ? amount * unit : null;
}
