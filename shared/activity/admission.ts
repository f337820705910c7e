import type { ActivityEvent } from '../contracts/activity';
import type { LedgerEntry } from '../contracts/ledger';
import type { StoredPolicy } from '../contracts/stored-policy';
import { TerminalError } from '../errors';
import { compilePolicy } from '../policy';

/**
 * Whether an activity event may be recorded: derived from what the product itself knows, never from the
 * event. An activity is a claim that a user of a tenant was active at `at`; recorded, it keeps that user for
 * `inactiveDays` after `at` (and, since activity only moves forward, no later event can take it back). So it
 * is recorded only when
 * - `at` is not more than MAX_ACTIVITY_LEAD_MS ahead of our clock (a clock a little fast is tolerated; an
 *   event from the future would make its user immortal: refused, never retried);
 * - the tenant exists (a stored policy) and that policy renews by activity (an `inactiveDays` rule or
 *   default): for any other tenant the activity could never be read, and recording it would only let a
 *   sender fill the state table (refused);
 * - the tenant's ledger knows the user and has not marked it gone. The ledger is the product's own record of
 *   which users the tenant's AppInstance holds: the sync writes an entry for every user
 *   ListAppInstanceUsers returns, onboarding one for every user it creates. A user id of another tenant's
 *   AppInstance, or one that never existed, is not in it. A user being onboarded right now may not be in it
 *   yet (an application that reports activity the moment its user was created races onboarding's ledger
 *   write by moments), so the queue retries such an event for a few seconds after it was sent
 *   (UNKNOWN_USER_GRACE_MS, batch.ts) before it dead-letters it. Nothing is recorded for an unseen user, and what that loses is
 *   small and bounded: renewal counts from max(createdAt, lastActiveAt), and a user created outside
 *   onboarding is in the ledger after the next sync, so its expiry moves by at most that time.
 */
export const MAX_ACTIVITY_LEAD_MS = 5 * 60_000;

export type ActivityRefusalReason =
  | 'activity-in-future'
  | 'tenant-not-found'
  | 'tenant-without-renewal'
  | 'user-not-in-tenant';

/** Activity that may not be recorded: dead-lettered with its reason (queue), its line named (CLI). */
export class ActivityRefusedError extends TerminalError<ActivityRefusalReason> {
  override name = 'ActivityRefusedError';
}

/** What the admission reads; the policy store and the ledger implement these. */
export interface ActivityAdmissionPorts {
  readonly policies: { get(tenantId: string): Promise<StoredPolicy | null> };
  readonly ledger: {
    getMany(tenantId: string, userIds: readonly string[]): Promise<Map<string, LedgerEntry>>;
  };
  readonly now: () => number;
}

interface TenantFacts {
  readonly renews: boolean;
}

/**
 * The checks for one batch of events (a queue batch, a file): each tenant's policy is read once and the
 * ledger entries of a tenant's users in the batch in one read, whatever the number of events.
 */
export class ActivityAdmission {
  readonly #ports: ActivityAdmissionPorts;
  readonly #tenants = new Map<string, Promise<TenantFacts | null>>();
  readonly #members = new Map<string, Promise<ReadonlySet<string>>>();
  /** The user ids of each tenant in the batch, read together on the first check of that tenant. */
  readonly #batchUsers = new Map<string, Set<string>>();

  constructor(ports: ActivityAdmissionPorts, batch: readonly ActivityEvent[] = []) {
    this.#ports = ports;
    for (const event of batch) {
      const users = this.#batchUsers.get(event.tenantId) ?? new Set<string>();
      users.add(event.appInstanceUserId);
      this.#batchUsers.set(event.tenantId, users);
    }
  }

  /** Why the event may not be recorded, or null when it may. */
  async refusal(event: ActivityEvent): Promise<ActivityRefusedError | null> {
    const lead = event.at - this.#ports.now();
    if (lead > MAX_ACTIVITY_LEAD_MS) {
      return new ActivityRefusedError(
        'activity-in-future',
        `at ${isoOrRaw(event.at)} is ${describeLead(lead)} ahead of the clock; activity may be at most ${MAX_ACTIVITY_LEAD_MS / 60_000} minutes ahead`,
      );
    }
    const tenant = await this.#tenant(event.tenantId);
    if (!tenant) {
      return new ActivityRefusedError(
        'tenant-not-found',
        `no policy is stored for tenant ${event.tenantId}; activity is recorded only for a tenant that exists`,
      );
    }
    if (!tenant.renews) {
      return new ActivityRefusedError(
        'tenant-without-renewal',
        `the policy of tenant ${event.tenantId} has no inactiveDays rule or default, so no activity of it is ever read`,
      );
    }
    const members = await this.#membersOf(event.tenantId, event.appInstanceUserId);
    if (!members.has(event.appInstanceUserId)) {
      return new ActivityRefusedError(
        'user-not-in-tenant',
        `appInstanceUserId is not a user of tenant ${event.tenantId} as far as its ledger knows (not in its AppInstance, deleted, or neither synced nor onboarded yet)`,
      );
    }
    return null;
  }

  #tenant(tenantId: string): Promise<TenantFacts | null> {
    let facts = this.#tenants.get(tenantId);
    if (!facts) {
      facts = this.#ports.policies
        .get(tenantId)
        .then((stored) => (stored ? { renews: compilePolicy(stored.policy).needsActivity } : null));
      this.#tenants.set(tenantId, facts);
    }
    return facts;
  }

  #membersOf(tenantId: string, userId: string): Promise<ReadonlySet<string>> {
    const batch = this.#batchUsers.get(tenantId);
    // An event outside the batch given up front is read on its own.
    const key = batch?.has(userId) ? tenantId : `${tenantId}\u0000${userId}`;
    let members = this.#members.get(key);
    if (!members) {
      const ids = batch?.has(userId) ? [...batch] : [userId];
      members = this.#ports.ledger
        .getMany(tenantId, ids)
        .then(
          (entries) =>
            new Set(
              [...entries.values()]
                .filter((entry) => entry.goneAt === undefined)
                .map((entry) => entry.appInstanceUserId),
            ),
        );
      this.#members.set(key, members);
    }
    return members;
  }
}

function isoOrRaw(at: number): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? String(at) : date.toISOString();
}

function describeLead(ms: number): string {
  if (ms < 3_600_000) return `${Math.ceil(ms / 60_000)} minutes`;
  if (ms < 86_400_000) return `${Math.ceil(ms / 3_600_000)} hours`;
  return `${Math.ceil(ms / 86_400_000)} days`;
}

/** The refusals of a whole set of events (a file), by index; empty when every event may be recorded. */
export async function refusalsOf(
  events: readonly ActivityEvent[],
  ports: ActivityAdmissionPorts,
): Promise<{ readonly index: number; readonly refusal: ActivityRefusedError }[]> {
  const admission = new ActivityAdmission(ports, events);
  const verdicts = await Promise.all(events.map((event) => admission.refusal(event)));
  return verdicts.flatMap((refusal, index) => (refusal ? [{ index, refusal }] : []));
}
