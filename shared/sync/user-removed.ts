import { z } from 'zod';
import type { EventSink, LifecycleEvent } from '../contracts/lifecycle-events';
import type { Log } from '../contracts/log';
import { isChimeArn, parseAppInstanceArn } from '../policy/arn';
import type { UserDirectory } from './ports';

/**
 * Chime's own deletions, as CloudTrail reports them through EventBridge (source `aws.chime`):
 * - "AWS Service Event via CloudTrail", eventName `ExpireAppInstanceUser`: the expiry sweeper deleted a user
 *   (the user's ARN is in `resources`);
 * - "AWS API Call via CloudTrail", eventName `DeleteAppInstanceUser`: someone deleted one (the ARN is the
 *   request's `appInstanceUserArn`; a call that failed has an `errorCode` and removed nothing).
 * Only the fields used are checked; CloudTrail adds others freely.
 */
const cloudTrailDetail = z.looseObject({
  eventName: z.string(),
  eventSource: z.string().optional(),
  eventTime: z.string().optional(),
  errorCode: z.string().optional(),
  requestParameters: z.looseObject({ appInstanceUserArn: z.string().optional() }).nullish(),
  resources: z.array(z.looseObject({ ARN: z.string().optional(), type: z.string().optional() })).nullish(),
});

export const chimeRemovalEventSchema = z.looseObject({
  source: z.literal('aws.chime'),
  'detail-type': z.string(),
  time: z.string().optional(),
  detail: cloudTrailDetail,
});

export type ChimeRemovalEvent = z.infer<typeof chimeRemovalEventSchema>;

/**
 * The model's UserId shape (1..64 characters; test/unit/sync/user-removed.test.ts checks this against the API
 * model). A user id never contains `/`, so the last `/user/` of a user ARN splits it.
 */
const USER_ID = /^[A-Za-z0-9](?:[A-Za-z0-9:\-_.@]{0,62}[A-Za-z0-9])?$/;
const USER_SEGMENT = '/user/';

/**
 * A user ARN as the API model defines it: a ChimeArn whose resource is `app-instance/<id>/user/<userId>`,
 * the AppInstance part an AppInstance ARN exactly, the user id a UserId. Anything else is no user of ours.
 */
export function parseUserArn(
  arn: string,
): { readonly appInstanceArn: string; readonly appInstanceUserId: string } | null {
  if (!isChimeArn(arn)) return null;
  const split = arn.lastIndexOf(USER_SEGMENT);
  if (split <= 0) return null;
  const appInstanceArn = arn.slice(0, split);
  const appInstanceUserId = arn.slice(split + USER_SEGMENT.length);
  if (parseAppInstanceArn(appInstanceArn) === null || !USER_ID.test(appInstanceUserId)) return null;
  return { appInstanceArn, appInstanceUserId };
}

export interface Removal {
  readonly appInstanceArn: string;
  readonly appInstanceUserArn: string;
  readonly appInstanceUserId: string;
  readonly reason: 'expired' | 'deleted';
  /** When Chime removed the user (epoch ms). */
  readonly at: number;
}

/**
 * What a CloudTrail event says was removed; null when it removed nothing (a failed call, another event) or
 * names no single well-formed user ARN (none, or several different ones: which one would it be?).
 */
export function removalOf(event: ChimeRemovalEvent, now: number): Removal | null {
  const { detail } = event;
  if (detail.errorCode !== undefined) return null;
  let arns: string[];
  let reason: Removal['reason'];
  if (detail.eventName === 'ExpireAppInstanceUser') {
    reason = 'expired';
    arns = (detail.resources ?? []).flatMap(({ ARN }) =>
      typeof ARN === 'string' && ARN.includes(USER_SEGMENT) ? [ARN] : [],
    );
  } else if (detail.eventName === 'DeleteAppInstanceUser') {
    reason = 'deleted';
    const requested = detail.requestParameters?.appInstanceUserArn;
    // A path parameter may be logged URL-encoded.
    arns = requested === undefined ? [] : [requested.includes('%') ? safeDecode(requested) : requested];
  } else {
    return null;
  }
  const distinct = [...new Set(arns)];
  if (distinct.length !== 1) return null;
  const arn = distinct[0] as string;
  const parsed = parseUserArn(arn);
  if (parsed === null) return null;
  const at = Date.parse(detail.eventTime ?? event.time ?? '');
  return {
    ...parsed,
    appInstanceUserArn: arn,
    reason,
    at: Number.isFinite(at) && at <= now ? at : now,
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export interface UserRemovedDeps {
  /** The tenant whose policy manages an AppInstance (the policy store's claim), or null. */
  readonly tenantOf: (appInstanceArn: string) => Promise<string | null>;
  /**
   * Chime itself, through the rate-limited port: `describe` answers null only when Chime says the user does
   * not exist (NotFound); any other failure (403 included: it may be IAM, not absence) throws.
   */
  readonly users: Pick<UserDirectory, 'describe'>;
  /** Marks the ledger entry gone with its reason; false when the ledger has no entry for the user. */
  readonly markRemoved: (
    tenantId: string,
    appInstanceUserId: string,
    at: number,
    reason: Removal['reason'],
  ) => Promise<boolean>;
  readonly events: EventSink;
  readonly log: Log;
  readonly now: () => number;
}

export type UserRemovedResult =
  | {
      readonly outcome: 'marked' | 'not-in-ledger' | 'still-exists';
      readonly tenantId: string;
      readonly removal: Removal;
    }
  | { readonly outcome: 'unmanaged-app-instance' | 'not-a-removal' };

/**
 * Handles one of Chime's deletions at once: the ledger entry is marked gone with the reason (so nothing waits
 * for the ledger refresh window), then "User Expired" or "User Deleted" is published. AppInstances no tenant
 * manages are ignored. Safe to repeat: EventBridge delivers at least once.
 *
 * The event is a claim, not a fact (offline anyone can put one; on AWS a replayed or hand-made event on the
 * default bus is possible too): the user is described once, and a user Chime still has is neither marked nor
 * announced. A user deleted and created again with the same id before the event arrives is, rightly, left
 * alone as well.
 */
export async function onUserRemoved(
  event: ChimeRemovalEvent,
  deps: UserRemovedDeps,
): Promise<UserRemovedResult> {
  const removal = removalOf(event, deps.now());
  if (removal === null) return { outcome: 'not-a-removal' };
  const tenantId = await deps.tenantOf(removal.appInstanceArn);
  if (tenantId === null) return { outcome: 'unmanaged-app-instance' };
  if ((await deps.users.describe(removal.appInstanceUserArn)) !== null) {
    deps.log.warn('a deletion event names a user Chime still has: ignored', {
      tenantId,
      reason: removal.reason,
    });
    return { outcome: 'still-exists', tenantId, removal };
  }
  const marked = await deps.markRemoved(tenantId, removal.appInstanceUserId, removal.at, removal.reason);
  const detail = {
    tenantId,
    appInstanceUserArn: removal.appInstanceUserArn,
    appInstanceUserId: removal.appInstanceUserId,
    at: new Date(removal.at).toISOString(),
    ledgerMarked: marked,
  };
  const published: LifecycleEvent =
    removal.reason === 'expired'
      ? { type: 'User Expired', detail: { ...detail, reason: 'expired' } }
      : { type: 'User Deleted', detail: { ...detail, reason: 'deleted' } };
  await deps.events.publish([published]);
  deps.log.info('user removed by Chime', { tenantId, reason: removal.reason, ledgerMarked: marked });
  return { outcome: marked ? 'marked' : 'not-in-ledger', tenantId, removal };
}
