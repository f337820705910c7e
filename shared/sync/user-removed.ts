import { z } from 'zod';
import type { EventSink, LifecycleEvent } from '../contracts/lifecycle-events';
import type { Log } from '../contracts/log';

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

const USER_ARN = /^arn:[^:]+:chime:[^:]*:\d{12}:app-instance\/[^/]+\/user\/[^/]+$/;

export interface Removal {
  readonly appInstanceArn: string;
  readonly appInstanceUserArn: string;
  readonly appInstanceUserId: string;
  readonly reason: 'expired' | 'deleted';
  /** When Chime removed the user (epoch ms). */
  readonly at: number;
}

/** What a CloudTrail event says was removed; null when it removed nothing (a failed call, another event). */
export function removalOf(event: ChimeRemovalEvent, now: number): Removal | null {
  const { detail } = event;
  if (detail.errorCode !== undefined) return null;
  let arn: string | undefined;
  let reason: Removal['reason'];
  if (detail.eventName === 'ExpireAppInstanceUser') {
    reason = 'expired';
    arn = detail.resources?.find((resource) => resource.ARN && USER_ARN.test(resource.ARN))?.ARN;
  } else if (detail.eventName === 'DeleteAppInstanceUser') {
    reason = 'deleted';
    arn = detail.requestParameters?.appInstanceUserArn;
    // A path parameter may be logged URL-encoded.
    if (arn?.includes('%')) arn = safeDecode(arn);
  } else {
    return null;
  }
  if (arn === undefined || !USER_ARN.test(arn)) return null;
  const split = arn.lastIndexOf('/user/');
  const at = Date.parse(detail.eventTime ?? event.time ?? '');
  return {
    appInstanceArn: arn.slice(0, split),
    appInstanceUserArn: arn,
    appInstanceUserId: arn.slice(split + '/user/'.length),
    reason,
    at: Number.isFinite(at) ? at : now,
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
  | { readonly outcome: 'marked' | 'not-in-ledger'; readonly tenantId: string; readonly removal: Removal }
  | { readonly outcome: 'unmanaged-app-instance' | 'not-a-removal' };

/**
 * Handles one of Chime's deletions at once: the ledger entry is marked gone with the reason (so nothing waits
 * for the ledger refresh window), then "User Expired" or "User Deleted" is published. AppInstances no tenant
 * manages are ignored. Safe to repeat: EventBridge delivers at least once.
 */
export async function onUserRemoved(
  event: ChimeRemovalEvent,
  deps: UserRemovedDeps,
): Promise<UserRemovedResult> {
  const removal = removalOf(event, deps.now());
  if (removal === null) return { outcome: 'not-a-removal' };
  const tenantId = await deps.tenantOf(removal.appInstanceArn);
  if (tenantId === null) return { outcome: 'unmanaged-app-instance' };
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
