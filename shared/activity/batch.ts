import type { ActivityEvent } from '../contracts/activity';
import { RetryableError } from '../errors';
import {
  ActivityAdmission,
  type ActivityAdmissionPorts,
  type ActivityRefusedError,
  MAX_ACTIVITY_LEAD_MS,
} from './admission';
import { type ActivityRecorder, batchWinners } from './record';

/**
 * How long after it was sent an event for a user the ledger does not know yet is retried rather than
 * dead-lettered: onboarding writes a user's ledger entry just after it creates the user, so an application
 * that reports activity at once races it by moments. The queue's backoff brings such an event back within
 * this window once or twice; past it the refusal is final.
 */
export const UNKNOWN_USER_GRACE_MS = 10_000;

/** What record-activity did with one event; `coalesced`: a later event of the same user settles it. */
export type ActivityRecordOutcome = 'advanced' | 'stale' | 'coalesced';

/** A valid message of the queue batch (the queue driver parsed it once). */
export interface ActivityBatchMessage {
  readonly messageId: string;
  readonly message: ActivityEvent;
}

export interface ActivityBatchRecorder {
  /**
   * Records one event of a queue batch, after its checks (`ActivityAdmission`): one conditional update,
   * unless a later event of the same user is in the same batch (that one alone is written, and settles this
   * one). Throws an ActivityRefusedError (terminal: dead-lettered with its reason) when the event may not be
   * recorded, or a RetryableError for a user the ledger does not know yet within UNKNOWN_USER_GRACE_MS of
   * the event's sending.
   */
  record(
    event: ActivityEvent,
    record: {
      readonly messageId: string;
      readonly batch: readonly ActivityBatchMessage[];
      /** When SQS received the message (SentTimestamp), if it said. */
      readonly sentAt?: number | undefined;
    },
  ): Promise<ActivityRecordOutcome>;
}

export interface ActivityRecorderDeps extends ActivityAdmissionPorts {
  readonly store: ActivityRecorder;
}

/**
 * The activity queue's use case. Every record is checked first, against the batch's reads (each tenant's
 * policy once, each tenant's ledger entries of the batch's users in one read). Of the records that pass,
 * only each user's latest activity of the batch is written. Events from the future never take part in
 * choosing that latest, so a refused one cannot settle (and so lose) a valid one.
 */
export function activityRecorder(deps: ActivityRecorderDeps): ActivityBatchRecorder {
  const batches = new WeakMap<
    readonly ActivityBatchMessage[],
    { readonly admission: ActivityAdmission; readonly winners: Set<string> }
  >();
  const forBatch = (batch: readonly ActivityBatchMessage[]) => {
    let checks = batches.get(batch);
    if (!checks) {
      const horizon = deps.now() + MAX_ACTIVITY_LEAD_MS;
      checks = {
        admission: new ActivityAdmission(
          deps,
          batch.map((entry) => entry.message),
        ),
        winners: batchWinners(
          batch.map((entry) => ({
            messageId: entry.messageId,
            event: entry.message.at <= horizon ? entry.message : null,
          })),
        ),
      };
      batches.set(batch, checks);
    }
    return checks;
  };
  return {
    async record(event, { messageId, batch, sentAt }) {
      const { admission, winners } = forBatch(batch);
      const refusal = await admission.refusal(event);
      if (refusal) throw mayStillAppear(refusal, sentAt, deps.now()) ?? refusal;
      if (!winners.has(messageId)) return 'coalesced';
      return deps.store.record(event);
    },
  };
}

/** The retry for a user the ledger may be about to know (see UNKNOWN_USER_GRACE_MS), or null. */
function mayStillAppear(
  refusal: ActivityRefusedError,
  sentAt: number | undefined,
  now: number,
): RetryableError | null {
  if (refusal.reason !== 'user-not-in-tenant' || sentAt === undefined) return null;
  if (now - sentAt >= UNKNOWN_USER_GRACE_MS) return null;
  return new RetryableError(`${refusal.message} (retried: it may be being onboarded)`, { cause: refusal });
}
