import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import { releaseQuotaLeaseAtEnd } from '../../shared/chime/lease-middleware';
import { Runtime } from '../../shared/composition-root';
import { asLog, createLogger, lambdaContext } from '../../shared/observability';
import {
  chimeRemovalEventSchema,
  onUserRemoved,
  type UserRemovedResult,
} from '../../shared/sync/user-removed';

const logger = createLogger('user-removed');
const runtime = new Runtime();
const deps = runtime.userRemovedDeps({ log: asLog(logger) });

/**
 * EventBridge rule (default bus, CloudTrail events of aws.chime) → confirms with Chime that the user is gone
 * (one Describe, rate-limited), marks it gone in the ledger at once and publishes "User Expired" or "User
 * Deleted". A failure throws: the invocation is retried, then the event lands in the rule's DLQ (see the
 * declaration).
 */
export const handler = middy(
  async (event: EventBridgeEvent<string, unknown>): Promise<UserRemovedResult | { outcome: 'invalid' }> => {
    const parsed = chimeRemovalEventSchema.safeParse(event);
    if (!parsed.success) {
      // The rule's pattern lets only Chime's CloudTrail events through; anything else is logged and dropped.
      logger.warn('not a Chime CloudTrail event', {
        problems: parsed.error.issues.map(
          (issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`,
        ),
      });
      return { outcome: 'invalid' };
    }
    return onUserRemoved(parsed.data, deps);
  },
)
  .use(lambdaContext(logger))
  // One Describe per invocation: its quota lease is given back at the end, not held while frozen.
  .use(releaseQuotaLeaseAtEnd(() => runtime.releaseQuotaLease()));
