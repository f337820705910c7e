import type { LedgerEntry } from '../contracts/ledger';
import { dueForVerification } from '../policy';
import type { ActivityPort, LedgerPort, UserPage } from './ports';

/**
 * What the sync reads beside Chime, shared by every scan that must cost what a steady sync costs (the sync,
 * `plan`, `report`): the ledger entries of a page and, for policies that renew by activity, the users' last
 * activity; and the one rule for when a ledger entry stands in for DescribeAppInstanceUser.
 */

/** A ledger entry's facts about a user, when they stand in for a Describe. */
export interface TrustedFacts {
  readonly createdAt: number;
  readonly expirationDays: number | undefined;
}

/**
 * What the ledger says of a user, when it can be trusted without a Describe: the user is known, not gone,
 * and its entry is not due for verification (`verifyIntervalMs`, spread per user over ½–1×).
 */
export function trustedLedgerFacts(
  entry: LedgerEntry | undefined,
  now: number,
  verifyIntervalMs: number,
): TrustedFacts | undefined {
  if (!entry || entry.goneAt !== undefined || dueForVerification(entry, now, verifyIntervalMs))
    return undefined;
  return { createdAt: entry.createdAt, expirationDays: entry.expirationDays ?? undefined };
}

/** A page's ledger entries and last activities, read together (the scan's prefetch). */
export interface PageFacts {
  readonly known: Map<string, LedgerEntry>;
  /** Empty unless the policy renews by activity. */
  readonly activity: Map<string, number>;
}

/** Reads what the sync knows of a page's users: one batch read of the ledger (and of activity, when read). */
export async function readPageFacts(
  page: UserPage,
  tenantId: string,
  ports: {
    readonly ledger: Pick<LedgerPort, 'getMany'>;
    /** Given only when the policy renews by activity. */
    readonly activity?: ActivityPort | undefined;
  },
): Promise<PageFacts> {
  const ids = page.users.map((user) => user.appInstanceUserId);
  const [known, activity] = await Promise.all([
    ports.ledger.getMany(tenantId, ids),
    ports.activity ? ports.activity.lastActiveMany(tenantId, ids) : new Map<string, number>(),
  ]);
  return { known, activity };
}
